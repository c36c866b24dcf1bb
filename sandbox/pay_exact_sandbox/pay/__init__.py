"""Sandbox pay part."""
