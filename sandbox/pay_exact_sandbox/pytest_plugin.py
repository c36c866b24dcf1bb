"""Pytest fixtures that start sandboxes (registered as a pytest plugin by the package)."""
