"""Placeholder: mx.compat (owned by the array-file work)."""
