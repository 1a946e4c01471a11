"""Running one benchmark script as both sides, mxlite and MXNet, in fresh subprocesses.

A script runs itself with ``--backend mxlite|mxnet --backend-only ...`` under each side's
interpreter (MXNet's only where it exists) and prints one JSON line; the sides alternate
``rounds`` times and each key's best result counts (single runs are noisy on a shared
machine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

MXNET_PYTHON = "/tmp/mxref/bin/python"


def thread_env(threads: int) -> dict[str, str]:
    """The environment with OMP / OpenBLAS / MKL set to ``threads`` (0: their defaults)."""
    env = dict(os.environ)
    if threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
    return env


def sides(mxnet_python: str) -> list[tuple[str, str]]:
    """``(backend, interpreter)`` pairs: mxlite always, MXNet when its interpreter exists."""
    out = [("mxlite", sys.executable)]
    if os.path.exists(mxnet_python):
        out.append(("mxnet", mxnet_python))
    return out


def best_of(script: str, variants: list[list[str]], rounds: int, mxnet_python: str,
            threads: int, key: Callable[[dict], tuple], score: str) -> dict[tuple, dict]:
    """Run ``script`` for every side and extra-argument list in ``variants``, ``rounds``
    times; returns the result with the highest ``score`` per ``key(result)``."""
    env = thread_env(threads)
    best: dict[tuple, dict] = {}
    for _ in range(rounds):
        for extra in variants:
            for backend, python in sides(mxnet_python):
                cmd = [python, os.path.abspath(script), "--backend", backend, "--backend-only",
                       *extra]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                k = key(r)
                if k not in best or r[score] > best[k][score]:
                    best[k] = r
    return best
