"""ERP <-> Norce Commerce batch integration."""
