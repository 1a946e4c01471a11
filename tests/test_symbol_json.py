"""Symbol JSON: MXNet's exact text layout, old-file upgrades, and refusal of bad files.

Expected texts were written by MXNet 1.9.1 for the same graphs.
"""

from __future__ import annotations

import copy
import json

import pytest
from conftest import DATA

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.formats import symbol_json

SEED = (DATA / "symbol" / "seed_plus-symbol.json").read_text()


@pytest.fixture(autouse=True)
def fresh_names():
    with mx.name.NameManager():
        yield


def _variable_node(name: str, attrs: str = "") -> str:
    return ('    {\n      "op": "null", \n      "name": "' + name + '", \n' + attrs
            + '      "inputs": []\n    }')


def test_long_arrays_go_one_item_per_line():
    xs = [mx.sym.Variable(f"x{i}") for i in range(11)]
    text = mx.sym.concat(*xs, dim=1).tojson()
    inputs = "\n        " + ", \n        ".join(f"[{i}, 0, 0]" for i in range(11))
    assert ('"attrs": {\n        "dim": "1", \n        "num_args": "11"\n      }, \n'
            '      "inputs": [' + inputs + '\n      ]\n    }\n  ], \n'
            '  "arg_nodes": [\n    0, \n    1, \n    2, \n    3, \n    4, \n    5, \n    6, \n'
            '    7, \n    8, \n    9, \n    10\n  ], \n') in text
    assert ', \n    11, \n    12\n  ], \n  "heads": [[11, 0, 0]], \n' in text
    g = mx.sym.Group(xs).tojson()
    heads = "\n    " + ", \n    ".join(f"[{i}, 0, 0]" for i in range(11))
    assert g.endswith('  "heads": [' + heads + '\n  ], \n'
                      '  "attrs": {"mxnet_version": ["int", 10901]}\n}')
    assert mx.sym.load_json(g).tojson() == g
    ten = mx.sym.Group(xs[:10]).tojson()
    assert '"heads": [[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0], [4, 0, 0], [5, 0, 0], ' \
           '[6, 0, 0], [7, 0, 0], [8, 0, 0], [9, 0, 0]], ' in ten


def test_strings_escape_as_dmlc_does():
    v = mx.sym.Variable('v', attr={'__q__': 'a"b\\c\nd\te\x01f é'})
    text = v.tojson()
    assert _variable_node("v", '      "attrs": {"__q__": "a\\"b\\\\c\\nd\\te\x01f é"}, \n') \
        in text
    back = mx.sym.load_json(text)
    assert back.attr('__q__') == 'a"b\\c\nd\te\x01f é'
    assert back.tojson() == text
    odd = mx.sym.Variable('x"\\') + mx.sym.Variable('y')
    assert '"name": "x\\"\\\\"' in odd.tojson()
    assert mx.sym.load_json(odd.tojson()).list_arguments() == ['x"\\', 'y']


def test_numpy_shape_semantics_mark_the_graph():
    mx.npx.set_np()
    try:
        text = mx.sym.Variable('y', shape=(2, 3)).tojson()
    finally:
        mx.npx.reset_np()
    assert text.endswith('  "attrs": {\n    "is_np_shape": ["int", 1], \n'
                         '    "mxnet_version": ["int", 10901]\n  }\n}')


def test_legacy_shapes_convert_when_loaded_under_numpy_semantics():
    texts = {shp: mx.sym.Variable('y', attr={'__shape__': shp}).tojson()
             for shp in ['(0, 3)', '()', '[2]', '(2,)', '(0,)']}
    mx.npx.set_np()
    try:
        got = {shp: mx.sym.load_json(t).attr('__shape__') for shp, t in texts.items()}
        marked = mx.sym.Variable('y', attr={'__shape__': '(0, 3)'}).tojson()
        assert mx.sym.load_json(marked).attr('__shape__') == '(0, 3)'
    finally:
        mx.npx.reset_np()
    assert got == {'(0, 3)': '[-1,3]', '()': 'None', '[2]': '[2]', '(2,)': '[2]',
                   '(0,)': '[-1]'}
    assert mx.sym.load_json(marked).attr('__shape__') == '(0, 3)'


def test_control_deps_are_kept():
    d = json.loads(SEED)
    d["nodes"][2]["control_deps"] = [0]
    s = mx.sym.load_json(json.dumps(d))
    assert ('      "inputs": [[0, 0, 0], [1, 0, 0]], \n      "control_deps": [0]\n    }'
            in s.tojson())
    assert s.debug_str().endswith("Control deps:\n\tcdep[0]=a\n")


def test_forward_references_load_in_graph_order():
    d = {"nodes": [{"op": "elemwise_add", "name": "p", "inputs": [[1, 0, 0], [2, 0, 0]]},
                   {"op": "null", "name": "a", "inputs": []},
                   {"op": "null", "name": "b", "inputs": []}],
         "arg_nodes": [1, 2], "heads": [[0, 0, 0]],
         "attrs": {"mxnet_version": ["int", 10901]}}
    s = mx.sym.load_json(json.dumps(d))
    assert s.list_arguments() == ["a", "b"]
    assert s.tojson() == SEED.replace('"_plus0"', '"p"').replace(
        ', \n      "attrs": {"__shape__": "[2]"}', "").replace(
        ', \n      "attrs": {"__shape__": "[3]"}', "")


def test_two_item_entries_and_old_spellings():
    """MXNet 1.9.1 on a pre-0.9 style graph (entries without version, param/attr)."""
    d = {"nodes": [{"op": "null", "name": "a", "inputs": [],
                    "attr": {"lr_mult": "2", "ctx_group": "g", "foo_wd_mult": "1", "__x__": "y"},
                    "param": {}},
                   {"op": "null", "name": "b", "inputs": []},
                   {"op": "elemwise_add", "name": "p", "inputs": [[0, 0], [1, 0]],
                    "attr": {"ctx_group": "g2", "lhs_lr_mult": "3", "mirror_stage": "True"},
                    "param": {}, "backward_source_id": -1}],
         "arg_nodes": [0, 1], "heads": [[2, 0]]}
    for version in (None, 10500):
        if version:
            d["attrs"] = {"mxnet_version": ["int", version]}
        s = mx.sym.load_json(json.dumps(d))
        assert s.attr_dict() == {
            'a': {'__lr_mult__': '3', 'lr_mult': '3', '__ctx_group__': 'g', 'ctx_group': 'g',
                  'foo_wd_mult': '1', '__x__': 'y'},
            'p': {'__ctx_group__': 'g2', 'ctx_group': 'g2', '__mirror_stage__': 'True',
                  'mirror_stage': 'True'}}
        assert '"inputs": [[0, 0, 0], [1, 0, 0]]' in s.tojson()


def test_attrs_attr_and_param_precedence():
    d = json.loads(SEED)
    d["nodes"][2].update({"attrs": {"__a__": "x"}, "attr": {"__a__": "y", "__b__": "z"},
                          "param": {"__b__": "w", "__c__": "v"}})
    s = mx.sym.load_json(json.dumps(d))
    assert s.list_attr() == {"__a__": "y", "__b__": "z", "__c__": "v"}


def test_pre_09_batchnorm_gets_its_auxiliary_states():
    d = {"nodes": [{"op": "null", "name": "data", "inputs": []},
                   {"op": "BatchNorm", "name": "bn", "param": {"eps": "0.001"},
                    "inputs": [[0, 0], [0, 0], [0, 0]], "backward_source_id": -1}],
         "arg_nodes": [0], "heads": [[1, 0]]}
    s = mx.sym.load_json(json.dumps(d))
    assert s.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]
    assert s.attr_dict() == {
        'bn_moving_mean': {'__init__': '["zero", {}]', 'eps': '0.001'},
        'bn_moving_var': {'__init__': '["one", {}]', 'eps': '0.001'}, 'bn': {'eps': '0.001'}}
    # at 0.9.4 the file must list them: MXNet would build a broken graph, we refuse
    d["attrs"] = {"mxnet_version": ["int", 904]}
    with pytest.raises(MXNetError, match="'bn'.*takes 5 inputs"):
        mx.sym.load_json(json.dumps(d))


def _broken(mutate):
    d = json.loads(SEED)
    mutate(d)
    return json.dumps(d)


@pytest.mark.parametrize("text, match", [
    ('{"nodes": [}', "not valid JSON"),
    ("[]", "JSON object"),
    ("", "not valid JSON"),
    (_broken(lambda d: d.pop("heads")), "'heads' is missing"),
    (_broken(lambda d: d.update(foo=1)), "unknown field 'foo'"),
    (_broken(lambda d: d["nodes"][2].update(foo=1)), r"node 2 \('_plus0'\): unknown field"),
    (_broken(lambda d: d["nodes"][1].pop("op")), "node 1: required field 'op'"),
    (_broken(lambda d: d["nodes"][2].update(op=3)), "node 2: 'op' and 'name' must be"),
    (_broken(lambda d: d["nodes"][2]["inputs"].__setitem__(0, [5, 0, 0])),
     r"node 2 \('_plus0'\) inputs\[0\] refers to node 5"),
    (_broken(lambda d: d["nodes"][2]["inputs"].__setitem__(0, [0, 3, 0])),
     r"node 2 \('_plus0'\) takes output 3 of node 0 \('a'\), which has 1"),
    (_broken(lambda d: d["nodes"][2]["inputs"].__setitem__(0, [0, -1, 0])), "non-negative"),
    (_broken(lambda d: d["nodes"][2]["inputs"].__setitem__(0, [0, 0.5, 0])), "non-negative"),
    (_broken(lambda d: d["nodes"][2]["inputs"].__setitem__(0, [2, 0, 0])),
     "cycle through node '_plus0'"),
    (_broken(lambda d: d["nodes"][2]["inputs"].append([0, 0, 0])),
     r"'_plus0'.*takes 2 inputs \(lhs, rhs\), the file gives 3"),
    (_broken(lambda d: d["nodes"][2].update(op="NoSuchOp")),
     "node '_plus0': unknown operator 'NoSuchOp'"),
    (_broken(lambda d: d["nodes"][2].update(op="Activation", attrs={"act_type": "nope"})),
     r"Activation \(node '_plus0'\).*'nope'"),
    (_broken(lambda d: d["nodes"][2].update(op="FullyConnected", attrs={"num_hidden": "x"})),
     r"FullyConnected \(node '_plus0'\).*num_hidden"),
    (_broken(lambda d: d["nodes"][0].update(attrs={"__shape__": 2})),
     r"node 0 \('a'\) attrs\['__shape__'\]: expected a string"),
    (_broken(lambda d: d["nodes"][0].update(inputs=[[1, 0, 0]])), "'a'.*variable but has"),
    (_broken(lambda d: d.update(arg_nodes=[2])), "arg_nodes lists node 2"),
    (_broken(lambda d: d.update(arg_nodes=[7])), "'arg_nodes' must list node ids"),
    (_broken(lambda d: d.update(heads=[])), "'heads' is empty"),
    (_broken(lambda d: d.update(heads=[[9, 0, 0]])), r"heads\[0\] refers to node 9"),
    (_broken(lambda d: d.update(heads=[[2, 1, 0]])), r"heads\[0\] asks for output 1"),
    (_broken(lambda d: d["attrs"].update(mxnet_version=["str", "x"])), "mxnet_version"),
    (_broken(lambda d: d["nodes"][2].update(subgraphs=[{}])), "subgraphs"),
])
def test_bad_files_are_refused_with_a_reason(text, match):
    with pytest.raises(MXNetError, match=match):
        mx.sym.load_json(text)


def test_file_errors_name_the_file(tmp_path):
    p = tmp_path / "bad-symbol.json"
    p.write_text('{"nodes": [')
    with pytest.raises(MXNetError, match="bad-symbol.json: not valid JSON"):
        mx.sym.load(str(p))
    with pytest.raises(FileNotFoundError):
        mx.sym.load(str(tmp_path / "missing.json"))
    with pytest.raises(TypeError):
        mx.sym.load(3)
    with pytest.raises(TypeError):
        mx.sym.load_json(3)


def test_loads_takes_text_or_a_path(tmp_path):
    p = tmp_path / "s.json"
    p.write_text(SEED)
    assert mx.sym.loads(str(p)).tojson() == SEED
    assert mx.sym.loads(p).tojson() == SEED
    assert mx.sym.loads("  \n" + SEED).tojson() == SEED
    with pytest.raises(MXNetError) as e:
        mx.sym.loads(str(tmp_path / "nope.json"))
    msg = str(e.value)
    assert "as file path:" in msg and "No such file" in msg and "as JSON text:" in msg
    with pytest.raises(MXNetError, match="as JSON text: .*not valid JSON.*as file path"):
        mx.sym.loads('{"nodes": ')


def test_loaded_graph_is_independent_of_the_parsed_document():
    d = json.loads(SEED)
    s = mx.sym.load_json(json.dumps(d))
    s.get_internals()["a"]._set_attr(__shape__="[7]")
    assert s.tojson() == SEED.replace("[2]", "[7]")


def test_parse_reports_version():
    g = symbol_json.parse(SEED)
    assert g.version == 10901 and g.arg_nodes == [0, 1] and g.heads == [[2, 0, 0]]
    nodes = [symbol_json.read_node(nd, i, len(g.raw_nodes), "") for i, nd in
             enumerate(g.raw_nodes)]
    assert [n[1] for n in nodes] == ["a", "b", "_plus0"]
    assert nodes[0][2] == {"__shape__": "[2]"}
    assert nodes[2][3] == [[0, 0, 0], [1, 0, 0]]
    old = copy.deepcopy(json.loads(SEED))
    del old["attrs"]
    assert symbol_json.parse(json.dumps(old)).version == 800


def test_big_graph_roundtrip():
    net = mx.sym.var("data")
    for i in range(300):
        net = mx.sym.FullyConnected(net, num_hidden=4, name=f"fc{i}")
        net = mx.sym.Activation(net, act_type="relu", name=f"relu{i}")
    text = net.tojson()
    back = mx.sym.load_json(text)
    assert back.tojson() == text
    assert len(back.list_arguments()) == 601
    assert back.infer_shape(data=(2, 3))[1] == [(2, 4)]
