"""Hostile files for Gluon: ``Block.load_parameters`` and ``Trainer.load_states`` load or
refuse with an MXNetError naming the file, and a refused ``load_parameters`` leaves every
Parameter as it was.

The seeds are the files the harness's own block and Trainer save; they are mutated by
truncation at every offset, header fields set to extremes, byte flips and (for the states)
opcode-level pickle mutations.
"""

from __future__ import annotations

import random

import pytest

from mxlite.formats import _fuzz as F


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    return F.Harness(tmp_path_factory.mktemp("fuzz-gluon"))


@pytest.fixture(scope="module")
def params_file(harness, tmp_path_factory) -> bytes:
    net = harness.gluon()[0]
    path = tmp_path_factory.mktemp("seed") / "net.params"
    net.save_parameters(str(path))
    return path.read_bytes()


@pytest.fixture(scope="module")
def states_file(harness, tmp_path_factory) -> bytes:
    trainer = harness.gluon()[1]
    path = tmp_path_factory.mktemp("seed") / "trainer.states"
    trainer.save_states(str(path))
    return path.read_bytes()


def test_the_seeds_load(harness, params_file, states_file):
    assert harness.run("gluon.load_parameters", params_file).kind == "ok"
    assert harness.run("Trainer.load_states", states_file).kind == "ok"


def test_load_parameters_on_truncations_and_fields(harness, params_file):
    muts = list(F.truncations(params_file))
    muts += list(F.field_mutations(params_file, F.array_header_offsets(params_file)))
    counts, escapes = harness.tally("gluon.load_parameters", muts)
    assert escapes == []
    assert counts["refused"] >= len(params_file)  # every truncation is refused


def test_load_parameters_on_byte_flips(harness, params_file):
    muts = list(F.byte_flips(params_file, random.Random(7), 300))
    counts, escapes = harness.tally("gluon.load_parameters", muts)
    assert escapes == []
    assert sum(counts.values()) == 300


def test_a_refused_load_names_the_file(harness, params_file):
    out = harness.run("gluon.load_parameters", params_file[:-3])
    assert out.kind == "refused"
    assert "g.params" in out.detail


def test_trainer_states_on_pickle_mutations(harness, states_file):
    muts = list(F.pickle_mutations(states_file, random.Random(3), replacements=2))
    muts += list(F.truncations(states_file, step=3))
    muts += list(F.byte_flips(states_file, random.Random(5), 200))
    counts, escapes = harness.tally("Trainer.load_states", muts)
    assert escapes == []
    assert counts["refused"] > len(muts) // 2
    out = harness.run("Trainer.load_states", states_file[:10])
    assert out.kind == "refused" and "t.states" in out.detail
