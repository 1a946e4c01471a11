"""``mx.random``: the one random generator mxlite draws from, and its seed.

Every random draw in mxlite (``mx.nd.random.*``, random operators, initialisers) takes its
numbers from :func:`generator`, so ``mx.random.seed(n)`` makes a run repeatable. The values
differ from MXNet's own generator; the distributions are the same.

``mx.random.uniform``, ``normal``, ``randint`` ... are ``mx.nd.random``'s functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["seed", "generator"]

_generator = np.random.default_rng()


def seed(seed_state: int, ctx: Any = "all") -> None:
    """Reseed the generator; the same seed gives the same draws from then on.

    ``ctx`` is accepted for MXNet compatibility: all devices share one generator here.
    """
    global _generator
    if isinstance(seed_state, bool) or not isinstance(seed_state, (int, np.integer)):
        from .base import MXNetError

        raise MXNetError(f"seed_state must be an int, got {type(seed_state).__name__}")
    # MXNet passes the seed as a C int, so any Python int is taken modulo 2**32 (negative
    # seeds included).
    _generator = np.random.default_rng(int(seed_state) & 0xFFFFFFFF)


def generator() -> np.random.Generator:
    """The current generator (replaced, not mutated, by :func:`seed`: fetch it per use)."""
    return _generator


def __getattr__(name: str):
    # Lazily, so that mxlite.ndarray.random can import this module while it loads.
    if name in ("uniform", "normal", "randint", "randn", "exponential", "gamma", "poisson",
                "negative_binomial", "generalized_negative_binomial", "multinomial",
                "shuffle"):
        from .ndarray import random as _nd_random

        return getattr(_nd_random, name)
    raise AttributeError(f"module 'mxlite.random' has no attribute {name!r}")
