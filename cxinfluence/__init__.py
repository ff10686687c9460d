"""cxinfluence."""
