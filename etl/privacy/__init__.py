"""Erasure on request: find one person's data wherever the product keeps it, and mask it."""
