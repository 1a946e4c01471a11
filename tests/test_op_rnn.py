"""The RNN operator and _rnn_param_concat against MXNet 1.9.1 (tests/fixtures/gen_rnn.py),
finite differences, inference and bad input."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import mxlite as mx
from mxlite import autograd
from mxlite.base import MXNetError

DATA = pathlib.Path(__file__).parent / "data" / "ops" / "rnn"
CASES = json.loads((DATA / "cases.json").read_text())["op"]
ARRAYS = np.load(DATA / "data.npz")


def _tol(want, rtol=1e-5) -> dict:
    """``rtol``, and an absolute tolerance of ``rtol`` times the reference array's scale."""
    scale = max(float(np.abs(want).max()), 1e-30) if np.size(want) else 1.0
    return {"rtol": rtol, "atol": rtol * scale}


def _close(got, want, rtol=1e-5):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, **_tol(want, rtol))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_rnn_matches_mxnet(case):
    name = case["name"]
    ins = [mx.nd.array(ARRAYS[f"{name}/in/{k}"]) for k in case["inputs"]]
    n_out = sum(1 for k in ARRAYS.files if k.startswith(f"{name}/out/"))
    if not case["train"]:
        outs = mx.nd.RNN(*ins, **case["kwargs"])
        outs = outs if isinstance(outs, list) else [outs]
        assert len(outs) == n_out
        for i, o in enumerate(outs):
            _close(o.asnumpy(), ARRAYS[f"{name}/out/{i}"])
        return
    for a in ins:
        a.attach_grad()
    with autograd.record():
        outs = mx.nd.RNN(*ins, **case["kwargs"])
    outs = outs if isinstance(outs, list) else [outs]
    assert len(outs) == n_out
    for i, o in enumerate(outs):
        _close(o.asnumpy(), ARRAYS[f"{name}/out/{i}"])
    autograd.backward(outs, [mx.nd.array(ARRAYS[f"{name}/head/{i}"]) for i in range(n_out)])
    for k, a in zip(case["inputs"], ins):
        if k != "sequence_length":
            _close(a.grad.asnumpy(), ARRAYS[f"{name}/grad/{k}"])


@pytest.mark.parametrize("name", ["lstm_2l_bi", "gru_lengths_1l_bi", "rnn_tanh_2l"])
def test_rnn_through_the_executor(name):
    case = next(c for c in CASES if c["name"] == name)
    ins = {k: ARRAYS[f"{name}/in/{k}"] for k in case["inputs"]}
    sym = mx.sym.RNN(*[mx.sym.var(k) for k in case["inputs"]], name="rnn", **case["kwargs"])
    reqs = {k: "null" if k == "sequence_length" else "write" for k in ins}
    exe = sym.simple_bind(mx.cpu(), grad_req=reqs, **{k: v.shape for k, v in ins.items()})
    outs = exe.forward(is_train=True, **ins)
    n_out = len(outs)
    for i, o in enumerate(outs):
        want = ARRAYS[f"{name}/out/{i}"]
        np.testing.assert_allclose(o.asnumpy(), want, **_tol(want))  # shapes too
    exe.backward([mx.nd.array(ARRAYS[f"{name}/head/{i}"]) for i in range(n_out)])
    for k in ins:
        if k != "sequence_length":
            want = ARRAYS[f"{name}/grad/{k}"]
            np.testing.assert_allclose(exe.grad_dict[k].asnumpy(), want, **_tol(want))


# -- inference -----------------------------------------------------------------------------


def _sym(mode, **kw):
    names = ["x", "p", "s"] + (["c"] if mode == "lstm" else [])
    if kw.get("use_sequence_length"):
        names.append("l")
    return mx.sym.RNN(*[mx.sym.var(n) for n in names], mode=mode, name="rnn", **kw)


def test_shape_inference_matches_mxnet():
    # Figures from MXNet 1.9.1's infer_shape.
    s = _sym("lstm", state_size=5, num_layers=2, bidirectional=True)
    assert s.infer_shape(x=(3, 2, 4)) == (
        [(3, 2, 4), (1120,), (4, 2, 5), (4, 2, 5)], [(3, 2, 10)], [])
    s = _sym("gru", state_size=5, num_layers=2, bidirectional=True, state_outputs=True)
    assert s.list_outputs() == ["rnn_output", "rnn_state_output"]
    assert s.infer_shape(x=(3, 2, 4)) == (
        [(3, 2, 4), (840,), (4, 2, 5)], [(3, 2, 10), (4, 2, 5)], [])
    s = _sym("lstm", state_size=5, num_layers=2, projection_size=3, state_outputs=True,
             use_sequence_length=True)
    assert s.list_outputs() == ["rnn_output", "rnn_state_output", "rnn_statecell_output"]
    assert s.infer_shape(x=(3, 2, 4)) == (
        [(3, 2, 4), (370,), (2, 2, 3), (2, 2, 5), (2,)], [(3, 2, 3), (2, 2, 3), (2, 2, 5)], [])
    assert mx.sym.RNN(state_size=5, num_layers=1, mode="lstm", name="r").list_arguments() == [
        "r_data", "r_parameters", "r_state", "r_state_cell"]


def test_type_inference():
    s = _sym("lstm", state_size=5, num_layers=1, use_sequence_length=True, state_outputs=True)
    args, outs, _ = s.infer_type(x="float64", l="int32")
    assert [np.dtype(t).name for t in args] == ["float64"] * 4 + ["int32"]
    assert [np.dtype(t).name for t in outs] == ["float64"] * 3
    args, _, _ = s.infer_type(x="float32")
    assert np.dtype(args[-1]).name == "float32"  # lengths default to the data's dtype


def test_rnn_param_concat_infers_unknown_inputs_from_the_output():
    a = mx.sym.var("a", shape=(8, 0))  # i2h weight, input size unknown
    rest = [mx.sym.var("b", shape=(8, 8)).reshape(-1), mx.sym.var("bi", shape=(8,)),
            mx.sym.var("bh", shape=(8,))]
    c = mx.sym._internal._rnn_param_concat(a.reshape(-1), *rest, dim=0)
    rnn = mx.sym.RNN(mx.sym.var("x"), c, mx.sym.var("s"), state_size=8, num_layers=1,
                     mode="rnn_tanh")
    args, _, _ = rnn.infer_shape(x=(4, 2, 5))
    assert dict(zip(rnn.list_arguments(), args))["a"] == (8, 5)
    x = mx.nd.array(np.arange(6.0))
    y = mx.nd._internal._rnn_param_concat(x, x[:2], dim=0)
    assert y.asnumpy().tolist() == [0, 1, 2, 3, 4, 5, 0, 1]


def test_rnn_param_concat_gradient_splits():
    a, b = mx.nd.array([1.0, 2.0]), mx.nd.array([3.0])
    a.attach_grad()
    b.attach_grad()
    with autograd.record():
        y = mx.nd._internal._rnn_param_concat(a, b, dim=0)
    y.backward(mx.nd.array([10.0, 20.0, 30.0]))
    assert a.grad.asnumpy().tolist() == [10.0, 20.0]
    assert b.grad.asnumpy().tolist() == [30.0]


# -- finite differences ----------------------------------------------------------------------


def _fd_case(mode, layers, bi, proj=None, lengths=None, clip=None, t=4, n=2, c=3, h=3,
             seed=0):
    rng = np.random.default_rng(seed)
    kw = {"state_size": h, "num_layers": layers, "mode": mode, "bidirectional": bi,
          "state_outputs": True}
    names = ["data", "parameters", "state"] + (["state_cell"] if mode == "lstm" else [])
    if proj:
        kw["projection_size"] = proj
    if clip:
        kw.update(lstm_state_clip_min=clip[0], lstm_state_clip_max=clip[1])
    sym = mx.sym.RNN(*[mx.sym.var(k) for k in names], **kw)
    shapes, out_shapes, _ = sym.infer_shape(data=(t, n, c))
    if lengths is not None:
        kw["use_sequence_length"] = True
    vals = [rng.uniform(-0.8, 0.8, s) for s in shapes]
    heads = [rng.uniform(-1, 1, s) for s in out_shapes]
    extra = [np.asarray(lengths, np.float64)] if lengths is not None else []
    return kw, vals, heads, extra


def _loss(kw, vals, heads, extra):
    outs = mx.nd.RNN(*[mx.nd.array(v, dtype="float64") for v in [*vals, *extra]], **kw)
    return sum(float((o.asnumpy() * hd).sum()) for o, hd in zip(outs, heads))


@pytest.mark.parametrize("setup", [
    ("lstm", 2, True, None, None, None),
    ("lstm", 1, False, 2, None, None),
    ("lstm", 1, True, None, [4, 2], None),
    ("lstm", 1, False, None, None, (-0.3, 0.3)),
    ("gru", 2, True, None, None, None),
    ("gru", 1, True, None, [1, 3], None),
    ("rnn_tanh", 2, False, None, [2, 4], None),
    ("rnn_relu", 1, True, None, None, None),
], ids=["lstm_bi", "lstm_proj", "lstm_lengths", "lstm_clip", "gru_bi", "gru_lengths",
        "tanh_lengths", "relu_bi"])
def test_gradients_match_finite_differences(setup):
    mode, layers, bi, proj, lengths, clip = setup
    kw, vals, heads, extra = _fd_case(mode, layers, bi, proj, lengths, clip)
    arrays = [mx.nd.array(v, dtype="float64") for v in vals]
    for a in arrays:
        a.attach_grad()
    with autograd.record():
        outs = mx.nd.RNN(*arrays, *[mx.nd.array(e, dtype="float64") for e in extra], **kw)
    autograd.backward(outs, [mx.nd.array(hd, dtype="float64") for hd in heads])
    rng = np.random.default_rng(1)
    eps = 1e-6
    for a, v in zip(arrays, vals):
        g = a.grad.asnumpy()
        for idx in rng.choice(v.size, size=min(v.size, 12), replace=False):
            up, down = v.copy(), v.copy()
            up.flat[idx] += eps
            down.flat[idx] -= eps
            args_up = [up if w is v else w for w in vals]
            args_down = [down if w is v else w for w in vals]
            num = (_loss(kw, args_up, heads, extra) - _loss(kw, args_down, heads, extra)) / (
                2 * eps)
            assert abs(num - g.flat[idx]) <= 1e-5 * max(1.0, abs(num)), (idx, num, g.flat[idx])


# -- semantics beyond MXNet's CPU kernels ------------------------------------------------------


def test_sequence_length_zeroes_padding_and_keeps_last_states():
    kw, vals, _, _ = _fd_case("lstm", 1, True, t=5, n=3, lengths=[5, 2, 3])
    lengths = mx.nd.array([5, 2, 3])
    out, hy, cy = mx.nd.RNN(*[mx.nd.array(v) for v in vals], lengths, **kw)
    o = out.asnumpy()
    assert np.all(o[2:, 1] == 0) and np.all(o[3:, 2] == 0) and np.all(o[:, 0] != 0)
    # Sequence 1 alone over its two steps gives the same numbers.
    kw1 = dict(kw, use_sequence_length=False)
    sub = [vals[0][:2, 1:2], vals[1], vals[2][:, 1:2], vals[3][:, 1:2]]
    out1, hy1, cy1 = mx.nd.RNN(*[mx.nd.array(v) for v in sub], **kw1)
    _close(o[:2, 1:2], out1.asnumpy())
    _close(hy.asnumpy()[:, 1:2], hy1.asnumpy())
    _close(cy.asnumpy()[:, 1:2], cy1.asnumpy())


def test_state_clip_bounds_the_cell_and_nan_option():
    kw, vals, _, _ = _fd_case("lstm", 2, False, clip=(-0.1, 0.1), seed=3)
    _, _, cy = mx.nd.RNN(*[mx.nd.array(v) for v in vals], **kw)
    assert np.abs(cy.asnumpy()).max() <= 0.1 + 1e-7
    free = dict(kw)
    del free["lstm_state_clip_min"], free["lstm_state_clip_max"]
    _, _, cy_free = mx.nd.RNN(*[mx.nd.array(v) for v in vals], **free)
    assert np.abs(cy_free.asnumpy()).max() > 0.1
    vals[0][0, 0, 0] = np.nan
    _, _, cy_nan = mx.nd.RNN(*[mx.nd.array(v) for v in vals], lstm_state_clip_nan=True, **kw)
    assert not np.isnan(cy_nan.asnumpy()).any()
    _, _, cy_prop = mx.nd.RNN(*[mx.nd.array(v) for v in vals], **kw)
    assert np.isnan(cy_prop.asnumpy()).any()


def test_dropout_between_layers_only_in_training():
    kw, vals, _, _ = _fd_case("gru", 2, False, t=6, n=4, h=8)
    ins = [mx.nd.array(v) for v in vals]
    base = mx.nd.RNN(*ins, **kw)[0].asnumpy()
    assert np.array_equal(mx.nd.RNN(*ins, p=0.5, **kw)[0].asnumpy(), base)
    for a in ins:
        a.attach_grad()
    mx.random.seed(7)
    with autograd.record():
        out = mx.nd.RNN(*ins, p=0.5, **kw)[0]
    assert not np.allclose(out.asnumpy(), base)
    out.backward()
    assert np.isfinite(ins[1].grad.asnumpy()).all()
    with autograd.record():
        out0 = mx.nd.RNN(*ins, p=0.0, **kw)[0]
    np.testing.assert_array_equal(out0.asnumpy(), base)


def test_float16_and_float64_run():
    kw, vals, _, _ = _fd_case("lstm", 1, False)
    ref = mx.nd.RNN(*[mx.nd.array(v) for v in vals], **kw)[0].asnumpy()
    for dt in ("float16", "float64"):
        out = mx.nd.RNN(*[mx.nd.array(v, dtype=dt) for v in vals], **kw)[0]
        assert out.dtype == np.dtype(dt)
        np.testing.assert_allclose(out.asnumpy().astype(np.float32), ref, atol=5e-3)


# -- bad input -------------------------------------------------------------------------------


def test_bad_parameters_are_mxnet_errors():
    x, p, s = mx.nd.ones((2, 1, 3)), mx.nd.ones((24,)), mx.nd.zeros((1, 1, 3))
    with pytest.raises(MXNetError, match="mode"):
        mx.nd.RNN(x, p, s, state_size=3, num_layers=1, mode="foo")
    with pytest.raises(MXNetError, match="state_size"):
        mx.nd.RNN(x, p, s, state_size=-3, num_layers=1, mode="rnn_tanh")
    with pytest.raises(MXNetError, match="num_layers"):
        _sym("rnn_tanh", state_size=3, num_layers=0).infer_shape(x=(2, 1, 3))
    with pytest.raises(MXNetError, match="parameters"):
        mx.nd.RNN(x, mx.nd.ones((7,)), s, state_size=3, num_layers=1, mode="rnn_tanh")
    with pytest.raises(MXNetError, match="projection_size"):
        _sym("gru", state_size=3, num_layers=1, projection_size=2).infer_shape(x=(2, 1, 3))
    with pytest.raises(MXNetError, match="lstm_state_clip"):
        _sym("lstm", state_size=3, num_layers=1, lstm_state_clip_min=0.5).infer_shape(
            x=(2, 1, 3))
    with pytest.raises(MXNetError, match="sequence_length"):
        mx.nd.RNN(x, mx.nd.ones((24,)), s, mx.nd.array([5]), state_size=3, num_layers=1,
                  mode="rnn_tanh", use_sequence_length=True)
    with pytest.raises(MXNetError, match="3-D"):
        _sym("rnn_tanh", state_size=3, num_layers=1).infer_shape(x=(2, 3))
