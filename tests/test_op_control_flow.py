"""Control flow: ``_foreach``, ``_while_loop``, ``_cond`` with subgraphs in symbol JSON,
``mx.sym.contrib`` / ``mx.nd.contrib`` ``foreach`` / ``while_loop`` / ``cond``, checked
against MXNet 1.9.1 (tests/data/ops/control, from tests/fixtures/gen_custom_control.py)."""

from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

HERE = pathlib.Path(__file__).parent
DATA = HERE / "data" / "ops" / "control"
sys.path.insert(0, str(HERE / "fixtures"))
import custom_control_cases as cases  # noqa: E402

ARRAYS = np.load(DATA / "data.npz", allow_pickle=False)
TOL = {"rtol": 1e-5, "atol": 1e-5}
FLOW = ["foreach", "foreach_multi", "while_loop", "cond", "nested"]
RUNS = [(g, r) for g in FLOW for r in cases.inputs(g)]

cases.register_props(mx)  # the nested graph has a Custom operator in its inner body


def _args(pre: str) -> dict[str, mx.nd.NDArray]:
    return {k[len(pre) + 4:]: mx.nd.array(ARRAYS[k]) for k in ARRAYS.files
            if k.startswith(pre + "/in/")}


def _run(sym, pre: str):
    args = _args(pre)
    grads = {k: mx.nd.zeros(v.shape) for k, v in args.items()}
    exe = sym.bind(mx.cpu(), args, args_grad=grads)
    outs = exe.forward(is_train=True)
    exe.backward([mx.nd.array(ARRAYS[f"{pre}/head/{k}"]) for k in range(len(outs))])
    return [o.asnumpy() for o in outs], {k: g.asnumpy() for k, g in grads.items()}


def _against_mxnet(sym, pre: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(what, ours, MXNet's) for every output and argument gradient of the run ``pre``."""
    outs, grads = _run(sym, pre)
    return ([(f"out/{k}", o, ARRAYS[f"{pre}/out/{k}"]) for k, o in enumerate(outs)]
            + [(f"grad/{k}", g, ARRAYS[f"{pre}/grad/{k}"]) for k, g in grads.items()])


@pytest.mark.parametrize("graph,run", RUNS)
def test_mxnet_json_loads_and_runs(graph, run):
    sym = mx.sym.load(str(DATA / f"{graph}-symbol.json"))
    for what, ours, theirs in _against_mxnet(sym, f"{graph}/{run}"):
        np.testing.assert_allclose(ours, theirs, err_msg=what, **TOL)


@pytest.mark.parametrize("graph,run", RUNS)
def test_built_graph_runs_like_mxnet(graph, run):
    for what, ours, theirs in _against_mxnet(cases.GRAPHS[graph](mx), f"{graph}/{run}"):
        np.testing.assert_allclose(ours, theirs, err_msg=what, **TOL)


@pytest.mark.parametrize("graph", FLOW)
def test_json_equals_mxnet_and_round_trips(graph):
    text = (DATA / f"{graph}-symbol.json").read_text()
    sym = cases.GRAPHS[graph](mx)
    assert sym.tojson() == text
    assert mx.sym.load_json(text).tojson() == text
    assert mx.sym.load_json(sym.tojson()).list_outputs() == sym.list_outputs()


def test_names_and_attributes_as_mxnet():
    sym = cases.foreach_graph(mx)
    assert sym.list_arguments() == ["x", "h0", "w", "u"]
    assert sym.list_outputs() == ["_foreach0_output0", "_foreach0_output1"]
    node = json.loads(sym.tojson())["nodes"][-1]
    assert node["attrs"] == {"in_data_locs": "[0]", "in_state_locs": "[2]", "num_args": "5",
                             "num_out_data": "1", "num_outputs": "2", "remain_locs": "[1, 3]"}
    sub = node["subgraphs"][0]
    assert [n["name"] for n in sub["nodes"] if n["op"] == "null"] == ["x-0", "w", "h0-0", "u"]
    assert "attrs" not in sub


def test_shape_and_type_inference():
    arg, out, _ = cases.foreach_graph(mx).infer_shape(x=(5, 2, 3), w=(3, 4), u=(4, 4))
    assert out == [(5, 2, 4), (2, 4)]
    assert arg == [(5, 2, 3), (2, 4), (3, 4), (4, 4)]  # h0 from the state the body returns
    arg, out, _ = cases.foreach_graph(mx).infer_shape_partial(x=(5, 2, 3))
    assert arg[0] == (5, 2, 3) and out[0] == ()  # unknown without w and u
    _, out, _ = cases.while_graph(mx).infer_shape(i=(1,), s=(2,), w=(2,))
    assert out == [(6, 2), (1,), (2,)]
    _, out, _ = cases.cond_graph(mx).infer_shape(a=(2, 3), b=(2, 3), w=(2, 3))
    assert out == [(2, 3)]
    _, out_t, _ = cases.foreach_graph(mx).infer_type(x="float64", h0="float64", w="float64",
                                                     u="float64")
    assert out_t == [np.float64, np.float64]
    exe = cases.foreach_multi_graph(mx).simple_bind(mx.cpu(), x1=(4, 3), x2=(4, 3), s1=(3,),
                                                    s2=(3,))
    assert [o.shape for o in exe.outputs] == [(4, 3), (4, 3), (3,), (3,)]


def test_inference_forward_of_loaded_graph():
    sym = mx.sym.load(str(DATA / "cond-symbol.json"))
    for run in ("then", "else"):
        out = sym.eval(**_args(f"cond/{run}"))[0]
        np.testing.assert_allclose(out.asnumpy(), ARRAYS[f"cond/{run}/out/0"], **TOL)


def test_imperative_foreach_while_with_autograd_match_mxnet():
    d = mx.nd.array(ARRAYS["nd/foreach/in/d"])
    s = mx.nd.array(ARRAYS["nd/foreach/in/s"])
    d.attach_grad()
    s.attach_grad()
    with mx.autograd.record():
        outs, st = mx.nd.contrib.foreach(lambda e, st: (e * st[0], [st[0] + e * 0.5]), d, [s])
        loss = (outs * outs).sum() + st[0].sum()
    loss.backward()
    np.testing.assert_allclose(outs.asnumpy(), ARRAYS["nd/foreach/out/0"], **TOL)
    np.testing.assert_allclose(st[0].asnumpy(), ARRAYS["nd/foreach/out/1"], **TOL)
    np.testing.assert_allclose(d.grad.asnumpy(), ARRAYS["nd/foreach/grad/d"], **TOL)
    np.testing.assert_allclose(s.grad.asnumpy(), ARRAYS["nd/foreach/grad/s"], **TOL)

    v = mx.nd.array(ARRAYS["nd/while/in/v"])
    v.attach_grad()
    with mx.autograd.record():
        o, (k, acc) = mx.nd.contrib.while_loop(
            lambda k, acc: k < 3, lambda k, acc: ([acc * 2], [k + 1, acc * v]),
            [mx.nd.array([0.0]), v], max_iterations=5)
        loss = o[0][:3].sum() + acc.sum()
    loss.backward()
    assert o[0].shape == (5, 2) and k.asnumpy().tolist() == [3.0]
    np.testing.assert_array_equal(o[0].asnumpy()[3:], 0)
    np.testing.assert_allclose(o[0][:3].asnumpy(), ARRAYS["nd/while/out/0"], **TOL)
    np.testing.assert_allclose(acc.asnumpy(), ARRAYS["nd/while/out/1"], **TOL)
    np.testing.assert_allclose(v.grad.asnumpy(), ARRAYS["nd/while/grad/v"], **TOL)


def test_imperative_cond_picks_a_branch_and_differentiates():
    x = mx.nd.array([1.0, 2.0])
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.contrib.cond(x.sum() > 2, lambda: x * x, lambda: x * 3)
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), [2.0, 4.0])
    out = mx.nd.contrib.cond(mx.nd.array([0]), lambda: x * x, lambda: x * 3)
    np.testing.assert_array_equal(out.asnumpy(), [3.0, 6.0])


def _nested(F, x, s):  # noqa: N803
    def outer(row, states):
        inner_out, inner_states = F.contrib.foreach(
            lambda e, st: (e * st[0], [st[0] + e]), row, [states[0]])
        return inner_out, [inner_states[0] * 0.5]

    return F.contrib.foreach(outer, x, [s])


def test_nested_foreach_and_one_dim_data_match_imperative():
    rng = np.random.default_rng(1)
    xv = rng.uniform(-1, 1, (3, 4)).astype(np.float32)
    sv = rng.uniform(-1, 1, (1,)).astype(np.float32)
    x, s = mx.nd.array(xv), mx.nd.array(sv)
    x.attach_grad()
    s.attach_grad()
    with mx.autograd.record():
        outs, st = _nested(mx.nd, x, s)
        loss = (outs * outs).sum() + st[0].sum() * 3
    loss.backward()
    outs_s, st_s = _nested(mx.sym, mx.sym.var("x"), mx.sym.var("s"))
    sym = mx.sym.Group([outs_s, st_s[0]])
    assert mx.sym.load_json(sym.tojson()).tojson() == sym.tojson()
    gx, gs = mx.nd.zeros((3, 4)), mx.nd.zeros((1,))
    exe = sym.bind(mx.cpu(), {"x": mx.nd.array(xv), "s": mx.nd.array(sv)},
                   args_grad={"x": gx, "s": gs})
    o = exe.forward(is_train=True)
    assert o[0].shape == (3, 4, 1)
    np.testing.assert_allclose(o[0].asnumpy().reshape(3, 4), outs.asnumpy().reshape(3, 4),
                               **TOL)
    np.testing.assert_allclose(o[1].asnumpy(), st[0].asnumpy(), **TOL)
    exe.backward([o[0] * 2, mx.nd.ones((1,)) * 3])
    np.testing.assert_allclose(gx.asnumpy(), x.grad.asnumpy(), **TOL)
    np.testing.assert_allclose(gs.asnumpy(), s.grad.asnumpy(), **TOL)


class _Recurrent(mx.gluon.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.w = self.params.get("w", shape=(3, 4))

    def hybrid_forward(self, F, x, h, w):  # noqa: N803
        def step(xt, states):
            new = F.tanh(F.dot(xt, w) + states[0])
            return new, [new]

        outs, states = F.contrib.foreach(step, x, [h])
        return outs + 0, states[0] + 0


def test_gluon_hybridized_foreach_matches_imperative():
    net = _Recurrent()
    net.initialize(mx.init.Uniform(0.5))
    rng = np.random.default_rng(2)
    x = mx.nd.array(rng.uniform(-1, 1, (4, 2, 3)).astype(np.float32))
    h = mx.nd.array(rng.uniform(-1, 1, (2, 4)).astype(np.float32))
    with mx.autograd.record():
        a, b = net(x, h)
        loss = a.sum() + (b * b).sum()
    loss.backward()
    ref = [a.asnumpy(), b.asnumpy(), net.w.grad().asnumpy().copy()]
    net.hybridize()
    with mx.autograd.record():
        a, b = net(x, h)
        loss = a.sum() + (b * b).sum()
    loss.backward()
    for got, want in zip([a.asnumpy(), b.asnumpy(), net.w.grad().asnumpy()], ref):
        np.testing.assert_allclose(got, want, **TOL)


def test_while_loop_that_never_steps():
    sym = cases.while_graph(mx)
    args = {"i": mx.nd.array([9.0]), "s": mx.nd.array([1.0, 2.0]),
            "w": mx.nd.array([3.0, 4.0])}
    grads = {k: mx.nd.zeros(v.shape) for k, v in args.items()}
    exe = sym.bind(mx.cpu(), args, args_grad=grads)
    outs = exe.forward(is_train=True)
    np.testing.assert_array_equal(outs[0].asnumpy(), np.zeros((6, 2), np.float32))
    assert outs[1].asnumpy().tolist() == [9.0] and outs[2].asnumpy().tolist() == [1.0, 2.0]
    exe.backward([mx.nd.ones((6, 2)), mx.nd.ones((1,)), mx.nd.ones((2,)) * 5])
    assert grads["s"].asnumpy().tolist() == [5.0, 5.0]
    assert grads["w"].asnumpy().tolist() == [0.0, 0.0]


def test_bad_input():
    with pytest.raises(MXNetError, match="_foreach.*no subgraphs"):
        mx.nd._foreach(mx.nd.ones((2, 2)), num_args=2, num_outputs=1, num_out_data=1,
                       in_state_locs="[]", in_data_locs="[0]", remain_locs="[]")
    doc = json.loads((DATA / "cond-symbol.json").read_text())
    doc["nodes"][-1]["subgraphs"] = "oops"
    with pytest.raises(MXNetError, match="subgraphs"):
        mx.sym.load_json(json.dumps(doc))
    doc = json.loads((DATA / "cond-symbol.json").read_text())
    doc["nodes"][-1]["subgraphs"][1]["nodes"][1]["op"] = "no_such_op"
    with pytest.raises(MXNetError, match=r"subgraphs\[1\].*no_such_op"):
        mx.sym.load_json(json.dumps(doc))
    doc = json.loads((DATA / "cond-symbol.json").read_text())
    del doc["nodes"][-1]["subgraphs"][2]
    with pytest.raises(MXNetError, match="expected 3 subgraph"):
        mx.sym.load_json(json.dumps(doc)).infer_shape(a=(2, 3), b=(2, 3), w=(2, 3))
    doc = json.loads((DATA / "foreach-symbol.json").read_text())
    doc["nodes"][-1]["attrs"]["in_data_locs"] = "[7]"
    with pytest.raises(MXNetError, match=r"_foreach0.*in_data_locs=\[7\].*below 4"):
        mx.sym.load_json(json.dumps(doc)).infer_shape(x=(5, 2, 3), h0=(2, 4), w=(3, 4),
                                                      u=(4, 4))
    doc = json.loads((DATA / "while_loop-symbol.json").read_text())
    doc["nodes"][-1]["attrs"]["max_iterations"] = "-1"
    with pytest.raises(MXNetError, match=r"_while_loop0.*max_iterations=-1"):
        mx.sym.load_json(json.dumps(doc)).infer_shape(i=(1,), s=(2,), w=(2,))
    sym = mx.sym.contrib.cond(mx.sym.var("p"), lambda: mx.sym.var("a") * 2,
                              lambda: mx.sym.var("a") * 3)
    with pytest.raises(MXNetError, match="condition must be a scalar"):
        sym.eval(p=mx.nd.ones((2,)), a=mx.nd.ones((2,)))
    with pytest.raises(ValueError, match="max_iterations"):
        mx.sym.contrib.while_loop(lambda i: i < 2, lambda i: ([], [i + 1]), [mx.sym.var("i")])
