"""Sandbox generator part."""
