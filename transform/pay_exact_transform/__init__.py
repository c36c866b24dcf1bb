"""pay-exact."""
