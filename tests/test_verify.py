"""``mx.model.verify(path)`` and ``mxlite verify PATH...``: structural checks of array files,
symbol JSON and states pickles, local and on ``memory://``."""

from __future__ import annotations

import copy
import json
import pickle
import struct

import pytest
from conftest import DATA

import mxlite as mx
from mxlite import storage
from mxlite.cli import main

SOUND = ["ndarray/dict_two.params", "ndarray/list_two.params", "ndarray/sparse.params",
         "ndarray/dtypes.params", "ndarray/np_semantics.params", "ndarray/empty_list.params",
         "module/mx_mlp-0003.params", "module/mx_mlp-symbol.json",
         "module/mx_mlp-0003.states", "optimizer/sgd_dump_optimizer.states",
         "models/resnet18_v1-symbol.json"]


@pytest.mark.parametrize("name", SOUND)
def test_sound_files_have_no_problems(name):
    assert mx.model.verify(str(DATA / name)) == []


def test_sound_files_on_memory():
    for name in SOUND[:3] + SOUND[6:9]:
        uri = f"memory://verify/{name}"
        storage.write_bytes_atomic(uri, (DATA / name).read_bytes())
        assert mx.model.verify(uri) == []


def _params_bytes():
    return (DATA / "ndarray" / "dict_two.params").read_bytes()


def assert_problem(tmp_path, name, data, pattern):
    p = tmp_path / name
    p.write_bytes(data)
    problems = mx.model.verify(str(p))
    assert len(problems) == 1, problems
    assert problems[0].startswith(str(p) + ": ")
    assert pattern in problems[0], problems[0]


def test_array_file_problems(tmp_path):
    good = _params_bytes()
    assert_problem(tmp_path, "trailing.params", good + b"\x00\x01",
           "2 trailing bytes after the names; expected end of file")
    assert_problem(tmp_path, "torn.params", good[:-3], "remain (truncated or corrupt file)")
    assert_problem(tmp_path, "short.params", good[:200], "array 1")
    assert_problem(tmp_path, "magic.params", b"\x00" * 24, "list magic is 0x0; expected 0x112")
    assert_problem(tmp_path, "empty.params", b"", "empty file")
    # a header that claims more array bytes than the file holds
    lying = bytearray(good)
    struct.pack_into("<q", lying, 24 + 12 + 4, 10**9)  # first record's first dim
    assert_problem(tmp_path, "lying.params", bytes(lying), "remain")


def test_duplicate_names_are_a_problem(tmp_path):
    a = mx.nd.ones((2,))
    p = tmp_path / "d.params"
    mx.nd.save(str(p), {"x": a, "y": a})
    data = p.read_bytes().replace(b"\x01\x00\x00\x00\x00\x00\x00\x00y",
                                  b"\x01\x00\x00\x00\x00\x00\x00\x00x")
    assert_problem(tmp_path, "dup.params", data, "duplicate array names ['x']")


def test_symbol_json_problems(tmp_path):
    text = (DATA / "module" / "mx_mlp-symbol.json").read_text()
    g = json.loads(text)
    assert_problem(tmp_path, "s1.json", text[:-5].encode(), "not JSON")
    assert_problem(tmp_path, "s2.json", b"[1, 2]", "not a symbol graph")
    bad = copy.deepcopy(g)
    bad["nodes"][3]["inputs"] = [[99, 0, 0]]
    assert_problem(tmp_path, "s3.json", json.dumps(bad).encode(), "refers to node 99")
    bad = copy.deepcopy(g)
    bad["heads"] = [[50, 0, 0]]
    assert_problem(tmp_path, "s4.json", json.dumps(bad).encode(), "heads[0] refers to node 50")
    bad = copy.deepcopy(g)
    bad["nodes"][3]["op"] = "NoSuchOp"
    assert_problem(tmp_path, "s5.json", json.dumps(bad).encode(), "unknown operator 'NoSuchOp'")
    assert_problem(tmp_path, "s6.json", b'{"nodes": [], "x": "\xff"}', "not UTF-8")


def test_pickle_problems(tmp_path):
    states = (DATA / "module" / "mx_mlp-0003.states").read_bytes()
    assert_problem(tmp_path, "t.states", states + b"junk",
                   "4 trailing bytes after the pickle's STOP")
    assert_problem(tmp_path, "cut.states", states[:-20], "not a sound pickle")
    evil = b"\x80\x02cos\nsystem\nq\x00X\x08\x00\x00\x00echo pwnq\x01\x85q\x02Rq\x03."
    assert_problem(tmp_path, "evil.states", evil, "refusing to load global os.system")


def test_plain_dict_pickle_is_sound(tmp_path):
    p = tmp_path / "ok.states"
    p.write_bytes(pickle.dumps({0: None, 1: (None,)}, protocol=2))
    assert mx.model.verify(str(p)) == []


def test_unknown_kind(tmp_path):
    assert_problem(tmp_path, "notes.txt", b"hello", "unknown kind of file")


def test_missing_file(tmp_path):
    problems = mx.model.verify(str(tmp_path / "nope.params"))
    assert problems == [f"{tmp_path}/nope.params: cannot read: No such file or directory"]


# ----------------------------------------------------------------------------- CLI


def test_cli_verify_all_sound(capsys):
    paths = [str(DATA / n) for n in SOUND[:4]]
    assert main(["verify", *paths]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"ok  {p}" for p in paths]


def test_cli_verify_reports_each_bad_file_and_exits_1(tmp_path, capsys):
    good = str(DATA / "ndarray" / "dict_two.params")
    torn = tmp_path / "torn.params"
    torn.write_bytes(_params_bytes() + b"xx")
    bad_json = tmp_path / "b-symbol.json"
    bad_json.write_text("{")
    assert main(["verify", "-q", good, str(torn), str(bad_json)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"BAD {torn}: byte {len(_params_bytes())}: 2 trailing bytes after the names; "
        "expected end of file",
        f"BAD {bad_json}: byte 1: not JSON (Expecting property name enclosed in double "
        "quotes)"]


def test_cli_verify_storage_options_and_memory(capsys):
    uri = "memory://cli_verify/d.params"
    storage.write_bytes_atomic(uri, _params_bytes())
    assert main(["verify", uri]) == 0
    assert capsys.readouterr().out == f"ok  {uri}\n"
    assert main(["verify", "-o", "KEY", uri]) == 1
    assert "expected KEY=VALUE" in capsys.readouterr().err


def test_cli_inspect_reads_uris(capsys):
    uri = "memory://cli_verify/i.params"
    storage.write_bytes_atomic(uri, _params_bytes())
    assert main(["inspect", uri]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "total: 2 arrays (dict), 112 bytes of array data"
