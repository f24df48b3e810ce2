"""ERP -> Norce: feed runs whose middle stage is a snapshot diff (master data) or documents."""
