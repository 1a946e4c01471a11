"""Placeholder: elemwise operators (owned by the ops work)."""
