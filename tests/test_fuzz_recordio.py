"""Hostile RecordIO files: ``MXRecordIO.read``, ``MXIndexedRecordIO.read_idx`` and the
``.idx`` parser load or refuse with an MXNetError, on truncations at every offset, header
fields set to extremes, byte flips and damaged index lines. Seeds: MXNet's own files in
``tests/data/recordio`` (one with records split around the magic)."""

from __future__ import annotations

import random

import pytest
from conftest import DATA

from mxlite.formats import _fuzz as F

REC = DATA / "recordio"
SEEDS = ["split", "multi", "strkeys"]


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    return F.Harness(tmp_path_factory.mktemp("fuzz-rec"))


@pytest.mark.parametrize("seed", SEEDS)
def test_sequential_reads(harness, seed):
    data = (REC / f"{seed}.rec").read_bytes()
    assert harness.run("recordio.read", data).kind == "ok"
    muts = list(F.truncations(data, step=1 if len(data) < 1000 else 7))
    muts += list(F.field_mutations(data, list(range(0, min(len(data), 64), 4))))
    muts += list(F.byte_flips(data, random.Random(seed), 150))
    counts, escapes = harness.tally("recordio.read", muts)
    assert escapes == []
    assert counts.get("refused", 0) > len(muts) // 4


@pytest.mark.parametrize("seed", SEEDS)
def test_indexed_reads_of_a_damaged_rec(harness, seed):
    rec, idx = (REC / f"{seed}.rec").read_bytes(), (REC / f"{seed}.idx").read_bytes()
    harness.rec_pair = (rec, idx)
    harness.rec_key_type = str if seed == "strkeys" else int
    assert harness.run("recordio.read_idx", rec).kind == "ok"
    muts = list(F.truncations(rec, step=3 if len(rec) < 1000 else 11))
    muts += list(F.byte_flips(rec, random.Random(seed + "i"), 150))
    _, escapes = harness.tally("recordio.read_idx", muts)
    assert escapes == []


@pytest.mark.parametrize("seed", SEEDS)
def test_damaged_index_files(harness, seed):
    rec, idx = (REC / f"{seed}.rec").read_bytes(), (REC / f"{seed}.idx").read_bytes()
    harness.rec_pair = (rec, idx)
    harness.rec_key_type = str if seed == "strkeys" else int
    assert harness.run("recordio.idx", idx).kind == "ok"
    lines = idx.splitlines(keepends=True)
    muts = list(F.truncations(idx))
    muts += list(F.byte_flips(idx, random.Random(seed + "x"), 100))
    extremes = [b"0\t-1\n", b"0\t99999999999999999999\n", b"x\ty\n", b"\t\n", b"1\t4\t5\n",
                b"0\t" + str(len(rec)).encode() + b"\n", b"0\t3\n", b"\xff\xfe\t0\n"]
    muts += [(f"line {i} -> {e!r}", b"".join(lines[:i] + [e] + lines[i + 1:]))
             for i in range(len(lines)) for e in extremes]
    counts, escapes = harness.tally("recordio.idx", muts)
    assert escapes == []
    assert counts.get("refused", 0) >= len(lines) * 4
    harness.rec_key_type = int
    out = harness.run("recordio.idx", b"0\t3\n")  # an offset inside the first record
    assert out.kind == "refused" and "i.rec" in out.detail
