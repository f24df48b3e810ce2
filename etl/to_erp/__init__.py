"""Norce -> ERP: orders and party changes, written as files the ERP can take."""
