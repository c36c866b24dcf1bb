"""Sandbox exact part."""
