"""Changes made in Norce to customers and companies, back to the ERP."""
