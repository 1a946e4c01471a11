"""Placeholder: mx.random (owned by the NDArray work)."""
