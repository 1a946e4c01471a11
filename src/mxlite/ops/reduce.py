"""Placeholder: reduce operators (owned by the ops work)."""
