"""Placeholder: mx.name (owned by the Symbol work)."""
