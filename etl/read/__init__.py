"""Reading an ERP file: formats, mapping, validation, references and the rejected-row reports."""
