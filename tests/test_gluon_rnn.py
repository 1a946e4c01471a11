"""mx.gluon.rnn: layers and cells against MXNet 1.9.1 (tests/fixtures/gen_rnn.py), MXNet's
exported bidirectional LSTM and saved parameters, hybridized vs imperative."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import mxlite as mx
from mxlite import autograd, gluon
from mxlite.base import MXNetError
from mxlite.gluon import rnn

DATA = pathlib.Path(__file__).parent / "data" / "ops" / "rnn"
CASES = json.loads((DATA / "cases.json").read_text())["gluon"]
ARRAYS = np.load(DATA / "data.npz")


def _mismatch(got, want, rtol=1e-5) -> str:
    """How ``got`` differs from ``want`` beyond ``rtol`` (relative, and absolute on the scale
    of ``want``); empty when they agree."""
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    scale = max(float(np.abs(want).max()), 1e-30) if want.size else 1.0
    if not np.allclose(got, want, rtol=rtol, atol=rtol * scale):
        return f"max abs difference {np.max(np.abs(got - want))}"
    return ""


def _make_cell(cls, kw):
    h, i = kw["hidden_size"], kw["input_size"]
    if cls == "BidirectionalCell":
        return rnn.BidirectionalCell(rnn.LSTMCell(h, input_size=i, prefix="l_"),
                                     rnn.GRUCell(h, input_size=i, prefix="r_"))
    if cls == "SequentialRNNCell":
        seq = rnn.SequentialRNNCell(prefix="seq_")
        with seq.name_scope():
            seq.add(rnn.LSTMCell(h, input_size=i, prefix="a_"))
            seq.add(rnn.GRUCell(h, input_size=h, prefix="b_"))
        return seq
    if cls == "ResidualCell":
        return rnn.ResidualCell(rnn.GRUCell(h, input_size=i, prefix="res_"))
    kwargs = dict(kw)
    kwargs.pop("hidden_size")
    return getattr(rnn, cls)(h, prefix="cell_", **kwargs)


def _build(case):
    name = case["name"]
    if case["kind"] == "layer":
        net = getattr(rnn, case["cls"])(prefix="net_", **case["kwargs"])
    else:
        net = _make_cell(case["cls"], case["kwargs"])
    net.initialize()
    params = net.collect_params()
    assert sorted(params) == sorted(case["params"])
    for pname in case["params"]:
        params[pname].set_data(mx.nd.array(ARRAYS[f"{name}/param/{pname}"]))
    x = mx.nd.array(ARRAYS[f"{name}/x"])
    states = None
    if case["states"]:
        n = sum(1 for k in ARRAYS.files if k.startswith(f"{name}/state/"))
        states = [mx.nd.array(ARRAYS[f"{name}/state/{k}"]) for k in range(n)]
    return net, x, states


def _run(case, net, x, states):
    if case["kind"] == "layer":
        if states is None:
            return net(x), []
        return net(x, states)
    vl = case.get("valid_length")
    valid = None if vl is None else mx.nd.array(vl)
    layout = case["layout"]
    out, st = net.unroll(x.shape[layout.find("T")], x, states, layout=layout,
                         merge_outputs=case["merge_outputs"], valid_length=valid)
    if isinstance(out, list):
        assert not case["merge_outputs"]
        out = mx.nd.stack(*out, axis=layout.find("T"))
    return out, st


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_mxnet(case):
    net, x, states = _build(case)
    out, out_states = _run(case, net, x, states)
    name = case["name"]
    assert not _mismatch(out.asnumpy(), ARRAYS[f"{name}/out"])
    n = sum(1 for k in ARRAYS.files if k.startswith(f"{name}/out_state/"))
    assert len(out_states) == n
    for k, s in enumerate(out_states):
        assert not _mismatch(s.asnumpy(), ARRAYS[f"{name}/out_state/{k}"])


@pytest.mark.parametrize("name", ["lstm_layer_2l_bi", "gru_layer_2l", "lstm_layer_proj",
                                  "rnn_layer_relu", "lstm_layer_ntc"])
def test_layer_hybridized_matches_imperative(name):
    case = next(c for c in CASES if c["name"] == name)
    net, x, states = _build(case)
    ref, ref_states = _run(case, net, x, states)
    net.hybridize()
    for _ in range(2):  # the traced call and a cached one
        out, out_states = _run(case, net, x, states)
        np.testing.assert_allclose(out.asnumpy(), ref.asnumpy(), rtol=1e-6, atol=1e-7)
        for a, b in zip(out_states, ref_states):
            np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), rtol=1e-6, atol=1e-7)


def test_layer_gradients_hybridized_match_imperative():
    case = next(c for c in CASES if c["name"] == "lstm_layer_2l_bi")
    grads = []
    for hybrid in (False, True):
        net, x, states = _build(case)
        if hybrid:
            net.hybridize()
        x.attach_grad()
        with autograd.record():
            out, new_states = net(x, states)
            loss = (out * out).sum() + new_states[1].sum()
        loss.backward()
        grads.append([x.grad.asnumpy()] + [p.grad().asnumpy()
                                           for p in net.collect_params().values()])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_hybridized_cell_steps_match_the_unrolled_stack():
    cell = rnn.HybridSequentialRNNCell(prefix="hs_")
    with cell.name_scope():
        cell.add(rnn.LSTMCell(4, input_size=3))
        cell.add(rnn.GRUCell(4, input_size=4))
    cell.initialize(mx.init.Uniform(0.5))
    x = mx.nd.array(np.random.default_rng(0).uniform(-1, 1, (2, 5, 3)))
    ref, ref_states = cell.unroll(5, x, layout="NTC", merge_outputs=True)
    step = rnn.LSTMCell(4, input_size=3, prefix="hs_lstm0_", params=cell[0].params)
    step.hybridize()
    states = step.begin_state(batch_size=2)
    outs = []
    for t in range(5):
        o, states = step(x[:, t], states)
        outs.append(o)
    cell0, _ = cell[0].unroll(5, x, layout="NTC", merge_outputs=True)
    np.testing.assert_allclose(mx.nd.stack(*outs, axis=1).asnumpy(), cell0.asnumpy(),
                               rtol=1e-6, atol=1e-7)
    assert ref.shape == (2, 5, 4) and len(ref_states) == 3


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
def test_unfused_cells_match_the_fused_layer(mode):
    cls = {"lstm": rnn.LSTM, "gru": rnn.GRU}.get(mode)
    kw = {"num_layers": 2, "bidirectional": True, "input_size": 3}
    layer = cls(5, **kw) if cls else rnn.RNN(5, activation=mode[4:], **kw)
    layer.initialize(mx.init.Uniform(0.5))
    x = mx.nd.array(np.random.default_rng(1).uniform(-1, 1, (4, 2, 3)))
    fused = layer(x)
    stack = layer._unfuse()
    out, _ = stack.unroll(4, x, layout="TNC", merge_outputs=True)
    assert not _mismatch(out.asnumpy(), fused.asnumpy())


# -- MXNet's files -------------------------------------------------------------------------


def test_exported_bidirectional_lstm_loads_and_matches_mxnet():
    io = np.load(DATA / "bilstm_io.npz")
    x = mx.nd.array(io["x"])
    zeros = mx.nd.zeros((4, 3, 8))
    net = gluon.SymbolBlock.imports(str(DATA / "bilstm-symbol.json"),
                                    ["data0", "data1", "data2"],
                                    str(DATA / "bilstm-0000.params"))
    out = net(x, zeros, zeros)
    assert not _mismatch(out.asnumpy(), io["out"], rtol=1e-4)

    sym = mx.sym.load(str(DATA / "bilstm-symbol.json"))
    params = mx.nd.load(str(DATA / "bilstm-0000.params"))
    args = {k[4:]: v for k, v in params.items()}
    args.update(data0=x, data1=zeros, data2=zeros)
    exe = sym.bind(mx.cpu(), args)
    assert not _mismatch(exe.forward()[0].asnumpy(), io["out"], rtol=1e-4)


def test_mxnet_lstm_params_load_with_load_parameters(tmp_path):
    io = np.load(DATA / "lstm_layer_io.npz")
    net = rnn.LSTM(6)
    net.load_parameters(str(DATA / "lstm_layer.params"))
    assert not _mismatch(net(mx.nd.array(io["x"])).asnumpy(), io["out"])
    # And our file has MXNet's structural names, so it loads back the same.
    net.save_parameters(str(tmp_path / "lstm.params"))
    assert sorted(mx.nd.load(str(tmp_path / "lstm.params"))) == [
        "_unfused.0.h2h_bias", "_unfused.0.h2h_weight", "_unfused.0.i2h_bias",
        "_unfused.0.i2h_weight"]
    again = rnn.LSTM(6)
    again.load_parameters(str(tmp_path / "lstm.params"))
    assert not _mismatch(again(mx.nd.array(io["x"])).asnumpy(), io["out"])


def test_bidirectional_structural_names():
    net = rnn.GRU(3, num_layers=2, bidirectional=True, input_size=2)
    assert sorted(net._collect_params_with_prefix())[:4] == [
        "_unfused.0.l_cell.h2h_bias", "_unfused.0.l_cell.h2h_weight",
        "_unfused.0.l_cell.i2h_bias", "_unfused.0.l_cell.i2h_weight"]


def test_hybridized_layer_exports_mxnet_graph(tmp_path):
    net = rnn.LSTM(4, num_layers=2, input_size=3, prefix="exp_")
    net.initialize()
    net.hybridize()
    x = mx.nd.ones((5, 2, 3))
    ref = net(x)
    net.export(str(tmp_path / "m"))
    graph = json.loads((tmp_path / "m-symbol.json").read_text())
    ops = [n["op"] for n in graph["nodes"] if n["op"] != "null"]
    assert ops.count("_rnn_param_concat") == 1 and ops.count("RNN") == 1
    back = gluon.SymbolBlock.imports(str(tmp_path / "m-symbol.json"),
                                     ["data0", "data1", "data2"],
                                     str(tmp_path / "m-0000.params"))
    zeros = mx.nd.zeros((2, 2, 4))
    np.testing.assert_allclose(back(x, zeros, zeros).asnumpy(), ref.asnumpy(), rtol=1e-6)


# -- layer behaviour -----------------------------------------------------------------------


def test_layer_repr_state_info_and_begin_state():
    net = rnn.LSTM(6, num_layers=2, bidirectional=True, dropout=0.5, input_size=4,
                   prefix="lstm0_")
    assert repr(net) == "LSTM(4 -> 6, TNC, num_layers=2, dropout=0.5, bidirectional)"
    assert repr(rnn.GRU(3)) == "GRU(None -> 3, TNC)"
    assert net.state_info(5) == [
        {"shape": (4, 5, 6), "__layout__": "LNC", "dtype": "float32"},
        {"shape": (4, 5, 6), "__layout__": "LNC", "dtype": "float32"}]
    states = net.begin_state(batch_size=5)
    assert [s.shape for s in states] == [(4, 5, 6), (4, 5, 6)]
    syms = net.begin_state(func=mx.sym.var)
    assert [s.name for s in syms] == ["lstm0_h0_0", "lstm0_h0_1"]
    proj = rnn.LSTM(6, projection_size=2)
    assert [s["shape"] for s in proj.state_info(3)] == [(1, 3, 2), (1, 3, 6)]


def test_layer_infers_input_size_and_checks_states():
    net = rnn.GRU(4, num_layers=2)
    net.initialize()
    out = net(mx.nd.ones((3, 2, 7)))
    assert out.shape == (3, 2, 4)
    assert net.l0_i2h_weight.shape == (12, 7)
    with pytest.raises(MXNetError, match="Invalid recurrent state shape"):
        net(mx.nd.ones((3, 2, 7)), [mx.nd.zeros((1, 2, 4))])
    with pytest.raises(MXNetError, match="layout"):
        rnn.LSTM(3, layout="CTN")


def test_layer_with_sequence_length_and_symbolic_call():
    net = rnn.LSTM(3, input_size=2, use_sequence_length=True, bidirectional=True)
    net.initialize()
    x = mx.nd.array(np.random.default_rng(2).uniform(-1, 1, (4, 2, 2)))
    out, _ = net(x, net.begin_state(2), sequence_length=mx.nd.array([4, 2]))
    assert np.all(out.asnumpy()[2:, 1] == 0)
    sym_out = net(mx.sym.var("data"), sequence_length=mx.sym.var("len"))
    assert isinstance(sym_out, mx.sym.Symbol)


def test_layer_trains():
    net = rnn.LSTM(4, input_size=3)
    net.initialize(mx.init.Xavier())
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    x = mx.nd.array(np.random.default_rng(3).uniform(-1, 1, (5, 2, 3)))
    losses = []
    for _ in range(5):
        with autograd.record():
            loss = ((net(x) - 0.5) ** 2).mean()
        loss.backward()
        trainer.step(1)
        losses.append(float(loss.asscalar()))
    assert losses[-1] < losses[0]


# -- cell behaviour ------------------------------------------------------------------------


def test_cell_names_and_begin_state():
    cell = rnn.LSTMCell(3, prefix="c_")
    assert sorted(cell.collect_params()) == ["c_h2h_bias", "c_h2h_weight", "c_i2h_bias",
                                             "c_i2h_weight"]
    states = cell.begin_state(batch_size=2, func=mx.sym.var)
    assert [s.name for s in states] == ["c_begin_state_0", "c_begin_state_1"]
    assert repr(cell) == "LSTMCell(None -> 12)"
    assert repr(rnn.RNNCell(3, input_size=2)) == "RNNCell(2 -> 3, tanh)"


def test_cell_unroll_list_and_symbol():
    cell = rnn.GRUCell(3, input_size=2)
    cell.initialize()
    steps = [mx.nd.ones((4, 2)) * k for k in range(3)]
    outs, states = cell.unroll(3, steps, merge_outputs=False)
    assert len(outs) == 3 and outs[0].shape == (4, 3) and states[0].shape == (4, 3)
    merged, _ = cell.unroll(3, steps, merge_outputs=True, layout="TNC")
    np.testing.assert_allclose(merged.asnumpy()[2], outs[2].asnumpy(), rtol=1e-6)
    sym_out, sym_states = cell.unroll(3, mx.sym.var("x"), layout="NTC", merge_outputs=True)
    _, shapes, _ = sym_out.infer_shape(x=(4, 3, 2))
    assert shapes == [(4, 3, 3)]


def test_dropout_and_zoneout_cells_are_identity_in_inference():
    base = rnn.RNNCell(3, input_size=3, prefix="z_")
    zone = rnn.ZoneoutCell(base, zoneout_outputs=0.5, zoneout_states=0.5)
    zone.initialize(mx.init.Uniform(0.5))
    x = mx.nd.array(np.random.default_rng(4).uniform(-1, 1, (2, 4, 3)))
    out, _ = zone.unroll(4, x, merge_outputs=True)
    base._modified = False
    ref, _ = base.unroll(4, x, merge_outputs=True)
    np.testing.assert_allclose(out.asnumpy(), ref.asnumpy(), rtol=1e-6)
    with pytest.raises(MXNetError, match="modifier"):
        base._modified = True
        base.begin_state(batch_size=2)
    drop = rnn.DropoutCell(0.5)
    y, st = drop.unroll(4, x, merge_outputs=True)
    np.testing.assert_array_equal(y.asnumpy(), x.asnumpy())
    assert st == []
    with autograd.record():
        y, _ = drop.unroll(4, x, merge_outputs=True)
    kept = y.asnumpy() != 0
    np.testing.assert_allclose(y.asnumpy()[kept], 2 * x.asnumpy()[kept], rtol=1e-6)


def test_bidirectional_cell_cannot_step():
    cell = rnn.BidirectionalCell(rnn.LSTMCell(2), rnn.LSTMCell(2))
    with pytest.raises(NotImplementedError):
        cell(mx.nd.ones((1, 2)), cell.begin_state(batch_size=1))
    assert len(cell.state_info(1)) == 4
