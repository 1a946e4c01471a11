"""Placeholder: linalg operators (owned by the ops work)."""
