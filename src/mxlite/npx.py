"""``mx.npx``: switches for numpy semantics."""

from .util import is_np_array, is_np_shape, reset_np, set_np

__all__ = ["set_np", "reset_np", "is_np_shape", "is_np_array"]
