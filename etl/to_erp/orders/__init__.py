"""Orders, Norce -> ERP: received or polled, spooled, checked, rendered to files, uploaded once."""
