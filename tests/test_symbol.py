"""Symbol files written by MXNet 1.9.1: load, rebuild in code, save byte for byte.

The golden files and what MXNet reported about them (tests/data/expectations.json, key
"symbol") were produced by MXNet 1.9.1 itself; the graphs were built as
tests/data/symbol/constructions.py.txt shows.
"""

from __future__ import annotations

import hashlib
import json
import types

import pytest
from conftest import DATA, historic

import mxlite as mx

EXPECT = json.loads((DATA / "expectations.json").read_text())["symbol"]
CASES = sorted(EXPECT)


def golden_text(case: str) -> str:
    return (DATA / EXPECT[case]["file"]).read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES)
def test_load_then_tojson_is_the_file(case):
    path = DATA / EXPECT[case]["file"]
    assert mx.sym.load(str(path)).tojson() == golden_text(case)


@pytest.mark.parametrize("case", CASES)
def test_golden_structure_matches_mxnet(case):
    e = EXPECT[case]
    s = mx.sym.load(str(DATA / e["file"]))
    assert s.list_arguments() == e["list_arguments"]
    assert s.list_outputs() == e["list_outputs"]
    assert s.list_auxiliary_states() == e["list_auxiliary_states"]
    assert s.list_inputs() == [n for n in e["internals"]
                               if n in e["list_arguments"] or n in e["list_auxiliary_states"]]
    assert s.attr_dict() == e["attr_dict"]
    assert s.get_internals().list_outputs() == e["internals"]


@pytest.mark.parametrize("case", [c for c in CASES if "infer_shape" in EXPECT[c]])
def test_golden_infer_shape_matches_mxnet(case):
    e = EXPECT[case]
    s = mx.sym.load(str(DATA / e["file"]))
    i = e["infer_shape"]
    args, outs, aux = s.infer_shape(**{k: tuple(v) for k, v in i["inputs"].items()})
    assert args == [tuple(x) for x in i["arg_shapes"]]
    assert outs == [tuple(x) for x in i["out_shapes"]]
    assert aux == [tuple(x) for x in i["aux_shapes"]]


class _Xavier:
    """Stands in for mx.init.Xavier() (the Module work brings mx.init)."""

    def dumps(self) -> str:
        return '["xavier", {"rnd_type": "uniform", "factor_type": "avg", "magnitude": 3}]'


def _build_all() -> dict[str, mx.sym.Symbol]:
    # golden/symbol/constructions.py, kept as text: it is MXNet-side code, not ours to lint
    path = DATA / "symbol" / "constructions.py.txt"
    code: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), code)
    mxns = types.SimpleNamespace(sym=mx.sym, AttrScope=mx.AttrScope,
                                 init=types.SimpleNamespace(Xavier=_Xavier))
    nh = int(json.loads(golden_text("mlp"))["nodes"][3]["attrs"]["num_hidden"])
    with mx.name.NameManager():
        return code["build_all"](mxns, nh)


def test_rebuilt_in_code_gives_the_same_text():
    built = _build_all()
    assert sorted(built) == CASES
    for case, sym in built.items():
        assert sym.tojson() == golden_text(case), case


def test_rebuilt_mlp_keeps_scope_and_multiplier_attributes():
    mlp = _build_all()["mlp"]
    assert mlp.attr_dict() == EXPECT["mlp"]["attr_dict"]
    fc2_w = mlp.get_internals()["fc2_weight"]
    assert fc2_w.attr("lr_mult") == "0.5"
    assert fc2_w.attr("__wd_mult__") == "0.0"
    assert mlp.get_internals()["fc1_output"].attr("ctx_group") == "stage1"


def test_seed_snippet(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    a = mx.sym.Variable('a', shape=[2,])
    b = mx.sym.Variable('b', shape=[3,])
    c = a + b
    print(c.tojson())
    c.save('symbol-c.json')
    c2 = mx.sym.loads('symbol-c.json')
    assert c2.tojson() == c.tojson()
    assert capsys.readouterr().out == c.tojson() + "\n"
    assert (tmp_path / "symbol-c.json").read_text() == c.tojson()
    # auto names depend on what ran before; the rest of the text is the golden one
    assert c.tojson().replace(c.name, "_plus0") == golden_text("seed_plus")


def test_save_load_roundtrip_of_every_golden_graph(tmp_path):
    for case in CASES:
        s = mx.sym.load_json(golden_text(case))
        p = tmp_path / f"{case}.json"
        s.save(str(p))
        assert p.read_bytes() == golden_text(case).encode()
        assert mx.sym.loads(str(p)).tojson() == golden_text(case)
        assert mx.sym.fromjson(golden_text(case)).tojson() == golden_text(case)


# MXNet 1.9.1 on save_000800.json (its own tests/python/unittest test_load_000800): the
# upgrade adds BatchNorm's moving statistics (with the node's attributes and __init__) and
# turns ctx_group / lr_mult / wd_mult / weight_lr_mult into hidden keys.
ARGS_800 = ['data', 'fc1_weight', 'fc1_bias', 'fc2_weight', 'fc2_bias', 'fc3_weight', 'fc3_bias',
            'batchnorm0_gamma', 'batchnorm0_beta', 'softmax_label']
AUX_800 = ['batchnorm0_moving_mean', 'batchnorm0_moving_var']
TOJSON_800_SHA256 = "c379a547963fcd64b229e0d43e45cf78bd52656b31a0d62fd0bf2bf27ff2df2c"


def test_load_000800_upgrades_like_mxnet():
    s = mx.sym.load(str(historic("save_000800.json")))
    assert s.list_arguments() == ARGS_800
    assert s.list_auxiliary_states() == AUX_800
    assert s.list_outputs() == ["softmax_output"]
    attrs = s.attr_dict()
    assert attrs["data"] == {"__ctx_group__": "stage1", "__lr_mult__": "0.2",
                             "ctx_group": "stage1", "lr_mult": "0.2"}
    # weight_lr_mult on fc1 went to its weight variable; the variable keeps its own copy
    assert attrs["fc1_weight"] == {
        "__ctx_group__": "stage1", "__lr_mult__": "1.2", "__wd_mult__": "0.3",
        "ctx_group": "stage1", "lr_mult": "1.2", "wd_mult": "0.3", "weight_lr_mult": "1.2"}
    assert attrs["fc1"] == {"__ctx_group__": "stage1", "__wd_mult__": "0.3",
                            "ctx_group": "stage1", "no_bias": "False", "num_hidden": "128",
                            "wd_mult": "0.3"}
    assert attrs["batchnorm0_moving_var"] == {
        "__ctx_group__": "stage2", "__init__": '["one", {}]', "ctx_group": "stage2",
        "eps": "0.001", "fix_gamma": "True", "momentum": "0.9", "use_global_stats": "False"}
    assert attrs["batchnorm0_moving_mean"]["__init__"] == '["zero", {}]'
    assert hashlib.sha256(s.tojson().encode()).hexdigest() == TOJSON_800_SHA256
    args, outs, aux = s.infer_shape(data=(1, 200))
    assert args == [(1, 200), (128, 200), (128,), (64, 128), (64,), (10, 64), (10,), (10,),
                    (10,), (1,)]
    assert outs == [(1, 10)]
    assert aux == [(10,), (10,)]


def test_load_000800_matches_the_same_graph_built_today():
    """MXNet's test_load_000800: every hidden attribute of the code-built graph is on the
    loaded one."""
    with mx.AttrScope(ctx_group='stage1'):
        data = mx.sym.Variable('data', lr_mult=0.2)
        weight = mx.sym.Variable(name='fc1_weight', lr_mult=1.2)
        fc1 = mx.sym.FullyConnected(data=data, weight=weight, name='fc1', num_hidden=128,
                                    wd_mult=0.3)
        act1 = mx.sym.Activation(data=fc1, name='relu1', act_type="relu")
    with mx.AttrScope(ctx_group='stage2'):
        fc2 = mx.sym.FullyConnected(data=act1, name='fc2', num_hidden=64, lr_mult=0.01)
        act2 = mx.sym.Activation(data=fc2, name='relu2', act_type="relu")
        fc3 = mx.sym.FullyConnected(data=act2, name='fc3', num_hidden=10)
        fc3 = mx.sym.BatchNorm(fc3, name='batchnorm0')
        sym1 = mx.sym.SoftmaxOutput(data=fc3, name='softmax')
    sym2 = mx.sym.load(str(historic("save_000800.json")))
    attr2 = sym2.attr_dict()
    for k, v1 in sym1.attr_dict().items():
        assert k in attr2, k
        for kk, vv1 in v1.items():
            if kk.startswith('__') and kk.endswith('__'):
                assert attr2[k].get(kk) == vv1, (k, kk)
    assert sym1.list_arguments() == sym2.list_arguments()
    assert sym1.list_auxiliary_states() == sym2.list_auxiliary_states()
    assert sym1.list_outputs() == sym2.list_outputs()
