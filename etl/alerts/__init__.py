"""Alerts: one message per problem that needs a person, on each channel, until it is gone."""
