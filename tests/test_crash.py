"""A process killed (SIGKILL) in the middle of ``mx.nd.save`` never leaves a torn file: the
target is always the old file or a complete new one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import mxlite as mx
from mxlite.ndarray.ndarray import NDArray

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")

N = 8 << 20  # 32 MiB of float32 per save: long enough to be caught mid-write

CHILD = """
import sys
import numpy as np
import mxlite as mx
from mxlite.ndarray.ndarray import NDArray

path, n = sys.argv[1], int(sys.argv[2])
gen = 0
while True:  # save generations 1, 2, 3... until killed
    gen += 1
    mx.nd.save(path, {"gen": NDArray(np.array([gen], np.int64)),
                      "big": NDArray(np.full(n, gen, np.float32))})
"""


def _tmp_files(folder):
    return [f for f in os.listdir(folder) if f.endswith(".tmp")]


def _wait_for(cond, timeout=30.0):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for the child to start saving")
        time.sleep(0.0005)


@pytest.mark.parametrize("delay", [0.0, 0.003, 0.015, 0.04, 0.1])
def test_sigkill_mid_save_leaves_old_or_new_file(tmp_path, delay):
    path = str(tmp_path / "model.params")
    mx.nd.save(path, {"gen": NDArray(np.array([0], np.int64)),
                      "big": NDArray(np.zeros(N, np.float32))})
    child = subprocess.Popen([sys.executable, "-c", CHILD, path, str(N)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: _tmp_files(tmp_path) or child.poll() is not None)
        assert child.poll() is None, child.stderr.read().decode()
        time.sleep(delay)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    leftovers = _tmp_files(tmp_path)

    got = mx.nd.load(path)
    assert sorted(got) == ["big", "gen"]
    gen = int(got["gen"].asnumpy()[0])
    big = got["big"].asnumpy()
    assert big.shape == (N,)
    assert (big == gen).all(), f"torn file: generation {gen} with other values inside"
    assert mx.model.verify(path) == []
    if delay == 0.0:
        # killed just after the temporary file appeared: the save was surely unfinished, and
        # the target is still the file written before the child started
        assert leftovers and gen == 0
    # a crash leaves at most the one temporary file; the next save proceeds normally
    assert len(leftovers) <= 1
    mx.nd.save(path, [NDArray(np.ones(3, np.float32))])
    assert mx.nd.load(path)[0].asnumpy().tolist() == [1.0, 1.0, 1.0]
