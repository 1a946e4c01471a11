"""Hostile pickles: ``mx.compat.load_pickle``, ``Updater.set_states``,
``Module.load_optimizer_states``, NDArray unpickling and ``mx.model.verify`` refuse damaged
and evil pickles with an MXNetError naming the source, within bounded memory.

Opcode-level mutations of the golden pickles (each opcode deleted, duplicated, replaced; length
arguments and memo indices set to extremes), truncations, byte flips, hand-made evil pickles,
and mutations of the array record a pickled NDArray carries.
"""

from __future__ import annotations

import os
import pickle
import random
import struct
import tracemalloc

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.formats import _fuzz as F
from mxlite.ndarray import sparse
from mxlite.ndarray.ndarray import NDArray
from mxlite.optimizer import SGD, get_updater

GOLDEN = ["optimizer/sgd_dump_optimizer.states", "module/mx_mlp-0003.states",
          "pickle/single_p2.pkl", "pickle/dict_p4.pkl"]
ENTRIES = ["compat.load_pickle", "Updater.set_states"]


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    return F.Harness(tmp_path_factory.mktemp("fuzz"))


def assert_kept(harness, entries, mutations) -> dict:
    counts: dict = {}
    for label, data in mutations:
        for entry in entries:
            out = harness.run(entry, data)
            assert out.kind != "escape", f"{entry} on {label}: {out.detail}"
            if out.kind == "refused" and entry in ENTRIES:
                assert out.detail.startswith("<pickle bytes>: "), out.detail
            counts[out.kind] = counts.get(out.kind, 0) + 1
    return counts


@pytest.mark.parametrize("name", GOLDEN)
def test_opcode_mutations(harness, name):
    data = (DATA / name).read_bytes()
    muts = list(F.pickle_mutations(data, random.Random(name), replacements=4))
    assert len(muts) > 100
    counts = assert_kept(harness, ENTRIES, muts)
    assert counts["refused"] > len(muts)
    assert_kept(harness, ["model.verify(pickle)"], muts[::5])


@pytest.mark.parametrize("name", GOLDEN)
def test_truncations_and_flips(harness, name):
    data = (DATA / name).read_bytes()
    step = max(1, len(data) // 400)
    muts = list(F.truncations(data, step)) + list(F.byte_flips(data, random.Random(name), 100))
    assert_kept(harness, ENTRIES, muts)


def test_evil_pickles(harness):
    assert_kept(harness, ENTRIES + ["compat.load_pickle(path)", "model.verify(pickle)",
                                    "Module.load_optimizer_states"], F.evil_pickles())


def test_optimizer_states_errors_name_the_file(harness):
    target = os.path.join(harness.dir, "x.states")
    for label, data in F.evil_pickles():
        out = harness.run("Module.load_optimizer_states", data)
        assert out.kind == "refused" and out.detail.startswith(target + ": "), (label, out)


def evil(label: str) -> bytes:
    return dict(F.evil_pickles())[label]


@pytest.mark.parametrize("label,message", [
    ("bytes(2**40)", r"bytes\(\) from a int: pickles build bytes from bytes or text"),
    ("bytearray(2**40)", r"bytearray\(\) from a int"),
    ("newobj helper bytes", r"copyreg.__newobj__ of a function: expected a class"),
    ("reconstructor bytes", r"copyreg._reconstructor with base '_bytes': only classes built on "
                            r"object are accepted"),
    ("_codecs.encode unknown", r"_codecs.encode\(str, 'nosuch'\): expected text and one of"),
    ("complex(huge)", r"not a valid pickle: OverflowError"),
    ("shared record rebuilt 2000 times", r"the pickle builds more than 4x its \d+ bytes "
                                         r"\(at NDArray.__setstate__\)"),
    ("shared bytes copied 2000 times", r"the pickle builds more than 4x its \d+ bytes "
                                       r"\(at bytearray\(\)\)"),
    ("os.system", r"refusing to load global os.system"),
])
def test_evil_pickle_messages_and_memory(label, message):
    raw = evil(label)
    tracemalloc.start()
    try:
        with pytest.raises(MXNetError, match=r"^<pickle bytes>: " + message):
            mx.compat.load_pickle(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(raw) + (2 << 20)


def test_lying_memo_index_and_frame():
    data = (DATA / "pickle" / "single_p2.pkl").read_bytes()
    at = data.index(b"q\x00")  # the first BINPUT
    lie = data[:at] + b"r" + struct.pack("<I", 2**31) + data[at + 2:]
    with pytest.raises(MXNetError, match=rf"^<pickle bytes>: not a valid pickle: byte {at}: "
                                         r"LONG_BINPUT 2147483648 after 0 memo entries"):
        mx.compat.load_pickle(lie)
    p4 = (DATA / "pickle" / "dict_p4.pkl").read_bytes()
    assert p4[2:3] == b"\x95"
    frame = p4[:3] + struct.pack("<Q", 2**31 - 1) + p4[11:]
    with pytest.raises(MXNetError, match=r"byte 2: a frame of 2147483647 bytes, but only "
                                         rf"{len(p4) - 11} remain"):
        mx.compat.load_pickle(frame)


def test_rebuilding_one_object_many_times_is_refused():
    nd = pickle.dumps(NDArray(np.ones(2, np.float32)), protocol=2)
    # BUILD applied again to the same object: more BUILDs than objects created
    raw = nd[:-1] + b"}b" * 5 + b"."
    with pytest.raises(MXNetError, match=r"^<pickle bytes>: not a valid pickle: 6 BUILD opcodes "
                                         r"for 3 objects created"):
        mx.compat.load_pickle(raw)


def test_sound_pickles_of_every_protocol_still_load():
    value = {0: NDArray(np.arange(3, dtype=np.float32)), "a": [1, 2.5, (3, None)],
             "b": {1, 2}, "c": bytearray(b"xy"), "d": b"zz", "e": 1 + 2j, "f": frozenset([3])}
    for protocol in range(6):
        got = mx.compat.load_pickle(pickle.dumps(value, protocol=protocol))
        assert got[0].asnumpy().tolist() == [0.0, 1.0, 2.0]
        assert {k: v for k, v in got.items() if k != 0} == {
            k: v for k, v in value.items() if k != 0}


# ----------------------------------------------------------------------------- NDArray records


@pytest.mark.parametrize("make", [
    lambda: mx.nd.array(np.arange(6, dtype=np.float32).reshape(2, 3)),
    lambda: sparse.csr_matrix(np.eye(3, dtype=np.float32)),
    lambda: sparse.row_sparse_array(np.eye(3, dtype=np.float32)),
])
def test_record_mutations(harness, make):
    rec = F.record_of(make())
    muts = list(F.truncations(rec)) + list(F.field_mutations(rec)) + \
        list(F.byte_flips(rec, random.Random(len(rec)), 100))
    for label, data in muts:
        for entry in ("NDArray.__setstate__", "pickle.loads(NDArray)"):
            out = harness.run(entry, data)
            assert out.kind != "escape", f"{entry} on {label}: {out.detail}"
            if out.kind == "refused":
                assert out.detail.startswith("pickled NDArray: "), out.detail


@pytest.mark.parametrize("state,message", [
    ([1, 2], r"state is a list; expected a dict with a 'handle'"),
    ({}, r"state is a dict; expected a dict with a 'handle'"),
    ({"handle": 42}, r"'handle' is a int; expected the bytes of an array record"),
    ({"handle": "text"}, r"'handle' is a str"),
])
def test_setstate_refuses_wrong_types(state, message):
    a = NDArray.__new__(NDArray)
    with pytest.raises(MXNetError, match=r"^pickled NDArray: " + message):
        a.__setstate__(state)


def test_setstate_refuses_a_record_of_another_storage_type():
    rec = bytearray(F.record_of(sparse.csr_matrix(np.eye(2, dtype=np.float32))))
    with pytest.raises(MXNetError, match=r"the record holds a csr array but the pickle makes "
                                         r"a NDArray \(default\)"):
        NDArray.__new__(NDArray).__setstate__({"handle": rec})
    with pytest.raises(MXNetError, match=r"a row_sparse array has no handle"):
        sparse.RowSparseNDArray.__new__(sparse.RowSparseNDArray).__setstate__({"handle": None})


# ----------------------------------------------------------------------------- states layout


@pytest.mark.parametrize("payload,message", [
    ([1, 2], r"expected a dict of index -> state, got list"),
    ({(1, 2): None}, r"index \(1, 2\) is a tuple; expected an int or a string"),
    ({0: "text"}, r"the state of index 0 holds a str; expected NDArrays"),
    ({0: ((((((((((None,),),),),),),),),),)}, r"the state of index 0 is nested more than 8"),
    (({}, 5), r"expected \(states, optimizer\), got an optimizer of type int"),
])
def test_set_states_checks_the_layout(payload, message):
    up = get_updater(SGD())
    before = up.states
    with pytest.raises(MXNetError, match=r"^<pickle bytes>: optimizer states: " + message):
        up.set_states(pickle.dumps(payload, protocol=2))
    assert up.states is before


def test_set_states_checks_the_optimizer_attributes():
    opt = SGD(momentum=0.9)
    opt.momentum = "fast"
    raw = get_updater(opt).get_states(dump_optimizer=True)
    with pytest.raises(MXNetError, match=r"optimizer SGD: attribute 'momentum' is a str; "
                                         r"expected a float"):
        get_updater(SGD()).set_states(raw)
