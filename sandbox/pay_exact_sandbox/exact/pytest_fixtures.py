"""Pytest fixtures for the Exact Online sandbox (registered as a pytest plugin by the package)."""
