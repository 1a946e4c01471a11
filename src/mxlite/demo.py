"""``mxlite demo``: the seed program's steps, run for real in a folder, reported as they go."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable

__all__ = ["run_demo"]


def run_demo(out_dir: str | os.PathLike, echo: Callable[[str], object] = print) -> dict:
    """Run the NDArray part of the seed program inside ``out_dir``; returns what it made.

    Steps: ``ones((2, 3))``, a pickle round trip, ``save`` of a list then of a dict to
    ``temp.ndarray``, and ``load`` of it back.
    """
    from . import ndarray as nd

    path = os.path.join(os.fspath(out_dir), "temp.ndarray")
    x = nd.ones((2, 3))
    echo(f"x = mx.nd.ones((2, 3))            -> shape {x.shape}, dtype {x.dtype.__name__}")
    y = pickle.loads(pickle.dumps(x))
    echo(f"y = pickle.loads(pickle.dumps(x)) -> {type(y).__name__} {y.shape}")
    values = y.asnumpy()
    echo(f"y.asnumpy()                       -> {values.tolist()}")
    nd.save(path, [x, y])
    echo(f"mx.nd.save('temp.ndarray', [x, y])          -> {os.path.getsize(path)} bytes")
    nd.save(path, {"a": x, "b": y})
    echo(f"mx.nd.save('temp.ndarray', {{'a': x, 'b': y}}) -> {os.path.getsize(path)} bytes")
    loaded = nd.load(path)
    echo("mx.nd.load('temp.ndarray')                  -> "
         + ", ".join(f"{k}: {v.shape}" for k, v in loaded.items()))
    return {"x": x, "y": y, "values": values, "loaded": loaded, "path": path}
