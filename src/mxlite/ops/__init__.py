"""The operator registry and its families (one file per family)."""

from .registry import Op, all_ops, find, get, register
