"""The save side of hostile conditions: a save into a missing folder, onto a read-only file or
a folder is an MXNetError that leaves the old file whole and no temporary file behind; the
temporary files of saves that died are removed by the next save of the same target (never
those of a save still running) and listed by ``mxlite verify``."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import numpy as np
import pytest

import mxlite as mx
from mxlite import storage
from mxlite.base import MXNetError
from mxlite.cli import main

fcntl = pytest.importorskip("fcntl", reason="saves lock their temporary files with flock")

ARRAYS = {"w": mx.nd.array(np.arange(4, dtype=np.float32))}


def names(folder) -> list[str]:
    return sorted(os.listdir(folder))


def test_save_into_missing_folder(tmp_path):
    target = tmp_path / "absent" / "m.params"
    with pytest.raises(MXNetError, match=rf"^{target}: cannot write: No such file or directory"
                       ) as e:
        mx.nd.save(str(target), ARRAYS)
    assert isinstance(e.value, OSError) and e.value.errno == errno.ENOENT
    assert names(tmp_path) == []
    sym = mx.sym.Variable("x")
    with pytest.raises(MXNetError, match="cannot write"):
        sym.save(str(tmp_path / "absent" / "x-symbol.json"))


@pytest.mark.parametrize("save", [
    lambda p: mx.nd.save(p, ARRAYS),
    lambda p: mx.sym.Variable("x").save(p),
    lambda p: storage.write_bytes_atomic(p, b"new"),
])
def test_save_onto_read_only_file(tmp_path, save):
    target = tmp_path / "m.params"
    target.write_bytes(b"old content")
    target.chmod(0o444)
    with pytest.raises(MXNetError, match=rf"^{target}: cannot write: the file is read-only"):
        save(str(target))
    assert target.read_bytes() == b"old content"
    assert names(tmp_path) == ["m.params"]


def test_save_onto_a_folder(tmp_path):
    (tmp_path / "m.params").mkdir()
    with pytest.raises(MXNetError, match=r"m.params: cannot write: it is a directory"):
        mx.nd.save(str(tmp_path / "m.params"), ARRAYS)
    assert names(tmp_path) == ["m.params"]


def test_saved_file_gets_the_replaced_files_mode(tmp_path):
    target = tmp_path / "m.params"
    target.write_bytes(b"old")
    target.chmod(0o640)
    mx.nd.save(str(target), ARRAYS)
    assert target.stat().st_mode & 0o777 == 0o640
    fresh = tmp_path / "n.params"
    mx.nd.save(str(fresh), ARRAYS)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~storage._umask()


HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


def test_stale_temp_files_cleaned_by_next_save_but_not_live_ones(tmp_path):
    target = tmp_path / "m.params"
    mx.nd.save(str(target), ARRAYS)
    dead = tmp_path / ".m.params.abcd1234.tmp"   # a save that was killed
    dead.write_bytes(b"half a file")
    live = tmp_path / ".m.params.live5678.tmp"   # a save still running in another process
    other = tmp_path / ".n.params.abcd1234.tmp"  # another target's: not ours to touch
    other.write_bytes(b"x")
    unrelated = tmp_path / ".m.params.backup.tmp"  # not mkstemp's name pattern
    unrelated.write_bytes(b"x")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(live)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"locked"
        assert storage.stale_temp_files(str(target)) == [str(dead)]
        mx.nd.save(str(target), ARRAYS)
        assert names(tmp_path) == sorted([".m.params.backup.tmp", ".m.params.live5678.tmp",
                                          ".n.params.abcd1234.tmp", "m.params"])
        assert storage.stale_temp_files(str(target)) == []
    finally:
        holder.stdin.close()
        holder.wait()
    # the running save has died now: its file is stale
    assert storage.stale_temp_files(str(target)) == [str(live)]


def test_cli_verify_lists_stale_temp_files(tmp_path, capsys):
    target = tmp_path / "m.params"
    mx.nd.save(str(target), ARRAYS)
    dead = tmp_path / ".m.params.zz99zz99.tmp"
    dead.write_bytes(b"junk")
    assert main(["verify", str(target)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"ok  {target}",
                   f"TMP {dead}: stale temporary file of an interrupted save of {target} (the "
                   "next save removes it)"]
    mx.nd.save(str(target), ARRAYS)
    assert main(["verify", str(target)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"ok  {target}"]


def test_stale_temp_files_of_remote_storage_are_none():
    assert storage.stale_temp_files("memory://fuzz/m.params") == []
