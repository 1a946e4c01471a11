"""Placeholder: tensor operators (owned by the ops work)."""
