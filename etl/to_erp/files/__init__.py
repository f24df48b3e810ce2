"""The ERP-file engine: layouts, rendering (CSV, XML), names, charset, upload exactly once."""
