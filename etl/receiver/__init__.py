"""The HTTP receiver: the ASGI app Norce pushes orders and events to, and its guards."""
