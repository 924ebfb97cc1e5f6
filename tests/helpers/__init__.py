"""Shared offline test helpers (tiny random models and processors, no model hub)."""
