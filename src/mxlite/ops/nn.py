"""Placeholder: nn operators (owned by the ops work)."""
