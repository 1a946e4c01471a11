"""Placeholder: loss operators (owned by the ops work)."""
