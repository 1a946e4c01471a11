"""The allocator setting made at import: on glibc it is in force unless the user opts out."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
PROBE = "import mxlite._alloc as a, mxlite; print(a.applied)"


def _applied(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("MXLITE_POOL_MEMORY", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")}
    out = subprocess.run([sys.executable, "-c", PROBE], env={**clean, **env},
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's; elsewhere nothing is set")
def test_import_raises_glibc_thresholds():
    assert _applied() == "True"


def test_opting_out_leaves_the_allocator_alone():
    assert _applied(MXLITE_POOL_MEMORY="0") == "False"


def test_glibc_environment_settings_take_precedence():
    assert _applied(MALLOC_TRIM_THRESHOLD_="1000000") == "False"
