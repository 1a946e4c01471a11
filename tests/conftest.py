"""Shared test fixtures: where the committed data and MXNet's historic files live."""

from __future__ import annotations

import pathlib

import pytest

DATA = pathlib.Path(__file__).parent / "data"
# MXNet's own historic test files are not ours to commit: read them from ../shared when present.
HISTORIC = pathlib.Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "historic"


@pytest.fixture
def data_dir() -> pathlib.Path:
    return DATA


def historic(name: str) -> pathlib.Path:
    """Path of a historic MXNet file; skips the test, saying why, when ../shared is absent."""
    p = HISTORIC / name
    if not p.exists():
        pytest.skip(f"MXNet's historic file {name} is read from {HISTORIC}, which is absent "
                    "here (it is not redistributed with mxlite)")
    return p
