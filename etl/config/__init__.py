"""Configuration: one TOML loader (toml) behind settings, feed contracts and ERP-file layouts.

settings: the process settings. contracts: the model of a feed contract, with its [format]
(contract_format) and per-field tables (contract_fields); contract_files reads them at
start-up and checks each against its entity (contract_entity_checks), its XML paths
(contract_xml_checks) and the other feeds (contract_links); run_order puts feeds in the
order they run. ERP-file layouts are read by the same loader in etl.to_erp.files.layouts.
"""
