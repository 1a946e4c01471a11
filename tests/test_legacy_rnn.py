"""mx.rnn (MXNet 1.9.1's legacy symbolic RNN package) against MXNet 1.9.1 itself: unrolled
cells' graphs and values, weight (un)packing, fused vs unfused cells, the FusedRNN and
LSTMBias initializers, BucketSentenceIter, a BucketingModule trained on it, and RNN
checkpoints. Recorded by tests/fixtures/gen_legacy_rnn.py into tests/data/legacy_rnn/."""

from __future__ import annotations

import json
import pathlib
import random
import warnings

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

DATA = pathlib.Path(__file__).parent / "data" / "legacy_rnn"
DOC = json.loads((DATA / "cases.json").read_text())
ARRAYS = np.load(DATA / "data.npz")
CELLS = {c["name"]: c for c in DOC["cells"]}
TOL = 1e-5  # float32 forward of a few small layers; MXNet ran with MKLDNN kernels


def _split(key: str, layout: list) -> dict[str, np.ndarray]:
    """The flat vector ``key`` of data.npz as named arrays, per ``[[name, shape], ...]``."""
    flat = ARRAYS[key]
    out, p = {}, 0
    for name, shape in layout:
        n = int(np.prod(shape)) if shape else 1
        out[name] = flat[p:p + n].reshape(shape)
        p += n
    assert p == flat.size
    return out


def _build(spec: dict) -> mx.rnn.BaseRNNCell:
    cls = getattr(mx.rnn, spec["cls"])
    kwargs = {k: tuple(v) if isinstance(v, list) else v
              for k, v in spec.get("kwargs", {}).items()}
    if spec["cls"] == "SequentialRNNCell":
        cell = cls(**kwargs)
        for sub in spec["add"]:
            cell.add(_build(sub))
        return cell
    if spec["cls"] == "BidirectionalCell":
        return cls(*[_build(s) for s in spec["cells"]], **kwargs)
    if "base" in spec:
        return cls(_build(spec["base"]), **kwargs)
    cell = cls(*spec.get("args", []), **kwargs)
    if spec.get("unfuse"):
        cell = cell.unfuse()
    return cell


def _flat(states: list) -> list:
    out = []
    for s in states:
        out.extend(_flat(s) if isinstance(s, list) else [s])
    return out


def _unrolled(case: dict):
    """The cell of ``case`` unrolled as MXNet unrolled it: (cell, group of outputs and
    flattened states, number of outputs)."""
    u = case["unroll"]
    cell = _build(case["cell"])
    if u["inputs"] == "list":
        inputs = [mx.sym.Variable(f"t{i}_data") for i in range(u["length"])]
    else:
        inputs = mx.sym.Variable("data")
    begin = cell.begin_state(func=mx.sym.Variable) if u["begin_state"] == "variable" else None
    with warnings.catch_warnings(), mx.name.NameManager():  # auto-names counted from 0
        warnings.simplefilter("ignore")  # FusedRNNCell's NTC advice
        outputs, states = cell.unroll(u["length"], inputs, begin_state=begin,
                                      layout=u["layout"], merge_outputs=u["merge_outputs"])
    outs = [outputs] if isinstance(outputs, mx.sym.Symbol) else list(outputs)
    return cell, mx.sym.Group(outs + _flat(states)), len(outs)


def _forward(group, args: dict[str, np.ndarray]) -> list[np.ndarray]:
    ex = group.bind(mx.cpu(), args={k: mx.nd.array(v) for k, v in args.items()},
                    grad_req="null")
    return [o.asnumpy() for o in ex.forward(is_train=False)]


@pytest.mark.parametrize("name", sorted(CELLS))
def test_unrolled_cell_matches_mxnet(name):
    case = CELLS[name]
    cell, group, n_out = _unrolled(case)
    assert sorted(cell.params._params) == case["params"]
    assert [{"shape": list(i["shape"]), "__layout__": i["__layout__"]}
            for i in cell.state_info] == case["state_info"]
    assert group.list_arguments() == case["arguments"]
    assert group.list_outputs() == case["outputs"]
    assert n_out == case["n_outputs"]
    args = _split(f"{name}/args", case["args"])
    want = _split(f"{name}/outs", case["outs"])
    # shapes of the inputs (and of variable begin states) only: the rest is inferred
    weights = set(case["params"])
    given = {k: v.shape for k, v in args.items() if k not in weights}
    _, out_shapes, _ = group.infer_shape(**given)
    assert [list(s) for s in out_shapes] == case["out_shapes"]
    got = _forward(group, args)
    assert len(got) == len(want)
    for k, g in enumerate(got):
        w = want[str(k)]
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_unpack_pack_weights_round_trip(name):
    case = CELLS[name]
    cell, _, _ = _unrolled(case)
    args = _split(f"{name}/args", case["args"])
    packed = {k: mx.nd.array(args[k]) for k in case["params"] if k in args}
    unpacked = cell.unpack_weights(packed)
    want = _split(f"{name}/unpacked", case["unpacked"])
    assert sorted(unpacked) == sorted(want)
    for k, v in want.items():
        assert unpacked[k].shape == v.shape
        assert np.array_equal(unpacked[k].asnumpy(), v), k
    repacked = cell.pack_weights(unpacked)
    assert sorted(repacked) == sorted(packed)
    for k, v in packed.items():
        assert np.array_equal(repacked[k].asnumpy(), v.asnumpy()), k
    assert sorted(packed) == sorted(k for k in case["params"] if k in args)  # input untouched


@pytest.mark.parametrize("fused,unfused", [("fused_lstm_bi2", "unfused_lstm_bi2"),
                                           ("fused_gru_ntc", "unfused_gru_ntc"),
                                           ("fused_rnn_relu2", "unfused_rnn_relu2")])
def test_fused_cell_equals_its_unfused_stack(fused, unfused):
    fcase, ucase = CELLS[fused], CELLS[unfused]
    fcell, _, n_out = _unrolled(fcase)
    ucell, ugroup, _ = _unrolled(ucase)
    fargs = _split(f"{fused}/args", fcase["args"])
    want = _split(f"{fused}/outs", fcase["outs"])
    # the fused vector, unpacked per gate, packed again as the unfused cells hold it
    weights = ucell.pack_weights(fcell.unpack_weights(
        {k: mx.nd.array(v) for k, v in fargs.items()}))
    feed = {k: v.asnumpy() for k, v in weights.items()}
    assert sorted(feed) == sorted(ucase["arguments"])
    got = _forward(ugroup, {k: feed[k] for k in ugroup.list_arguments()})
    for k in range(n_out):
        np.testing.assert_allclose(got[k], want[str(k)], rtol=TOL, atol=TOL)


def test_unfuse_structure_and_names():
    cell = mx.rnn.FusedRNNCell(5, num_layers=3, mode="lstm", prefix="test_",
                               bidirectional=True, dropout=0.5)
    stack = cell.unfuse()
    assert isinstance(stack, mx.rnn.SequentialRNNCell)
    kinds = [type(c).__name__ for c in stack._cells]
    assert kinds == ["BidirectionalCell", "DropoutCell", "BidirectionalCell", "DropoutCell",
                     "BidirectionalCell"]
    outputs, states = stack.unroll(2, [mx.sym.Variable(f"t{i}") for i in range(2)])
    assert mx.sym.Group(outputs).list_outputs() == ["test_bi_l2_t0_output",
                                                    "test_bi_l2_t1_output"]
    assert len(_flat(states)) == 12  # 3 layers x 2 directions x (h, c)


def test_begin_state_names_and_counter():
    cell = mx.rnn.LSTMCell(4, prefix="b_")
    first = cell.begin_state()
    second = cell.begin_state(func=mx.sym.Variable)
    assert [s.name for s in first] == ["b_begin_state_0", "b_begin_state_1"]
    assert [s.name for s in second] == ["b_begin_state_2", "b_begin_state_3"]
    assert second[0].list_attr() == {"__shape__": "(0, 4)", "__layout__": "NC"}
    assert cell.state_shape == [(0, 4), (0, 4)]
    fused = mx.rnn.FusedRNNCell(3, num_layers=2, mode="gru", bidirectional=True)
    assert fused.state_info == [{"shape": (4, 0, 3), "__layout__": "LNC"}]
    assert fused._parameter.name == "gru_parameters"


def test_begin_state_func_reaches_cells_inside_modifiers():
    stack = mx.rnn.SequentialRNNCell()
    stack.add(mx.rnn.LSTMCell(3, prefix="s0_"))
    stack.add(mx.rnn.ResidualCell(mx.rnn.GRUCell(3, prefix="s1_")))
    states = stack.begin_state(func=mx.sym.Variable)
    assert [s.name for s in states] == ["s0_begin_state_0", "s0_begin_state_1",
                                        "s1_begin_state_0"]
    assert all(s.list_attr()["__shape__"] == "(0, 3)" for s in states)


def test_zoneout_in_training_keeps_previous_outputs():
    cell = mx.rnn.ZoneoutCell(mx.rnn.RNNCell(4, prefix="z_"), zoneout_outputs=0.5)
    outs, _ = cell.unroll(2, mx.sym.Variable("data"), merge_outputs=False)
    group = mx.sym.Group(outs)
    rng = np.random.default_rng(0)
    shapes = group.infer_shape(data=(8, 2, 5))[0]
    args = {n: mx.nd.array(rng.uniform(-1, 1, s))
            for n, s in zip(group.list_arguments(), shapes)}
    ex = group.bind(mx.cpu(), args=args, grad_req="null")
    mx.random.seed(3)
    train = [o.asnumpy() for o in ex.forward(is_train=True)]
    infer = [o.asnumpy() for o in ex.forward(is_train=False)]
    # the first step's previous output is zero: each element is the new value or 0
    new = np.isclose(train[0], infer[0], rtol=0, atol=1e-6)
    kept = train[0] == 0
    assert np.all(new | kept)
    assert 0 < kept.sum() < kept.size
    # the second step keeps the first step's (zoned-out) output where it zones out
    second_new = np.isclose(train[1], infer[1], rtol=0, atol=1e-6)
    assert np.all(second_new | np.isclose(train[1], train[0], rtol=0, atol=1e-6))


def test_modified_cell_cannot_be_used_directly():
    base = mx.rnn.GRUCell(3, prefix="m_")
    wrapped = mx.rnn.ZoneoutCell(base, zoneout_outputs=0.2)
    with pytest.raises(MXNetError, match="modifier cell"):
        base.begin_state()
    assert [s.name for s in wrapped.begin_state()] == ["m_begin_state_0"]
    assert base._modified is True  # still wrapped afterwards
    with pytest.raises(NotImplementedError):
        mx.rnn.BidirectionalCell(mx.rnn.GRUCell(2, prefix="x_"),
                                 mx.rnn.GRUCell(2, prefix="y_"))(mx.sym.Variable("d"), [])
    with pytest.raises(NotImplementedError):
        mx.rnn.FusedRNNCell(2)(mx.sym.Variable("d"), [])


def test_rnn_unroll_is_deprecated_but_works():
    cell = mx.rnn.RNNCell(3, prefix="d_")
    with pytest.warns(UserWarning, match="deprecated"):
        outputs, _ = mx.rnn.rnn_unroll(cell, 2, [mx.sym.Variable("a"), mx.sym.Variable("b")])
    assert mx.sym.Group(outputs).list_outputs() == ["d_t0_out_output", "d_t1_out_output"]


@pytest.mark.parametrize("k", range(len(DOC["encode"])))
def test_encode_sentences_matches_mxnet(k):
    case = DOC["encode"][k]
    kwargs = dict(case["kwargs"])
    if "vocab" in kwargs:
        kwargs["vocab"] = dict(kwargs["vocab"])
    result, vocab = mx.rnn.encode_sentences(case["sentences"], **kwargs)
    assert result == case["result"]
    assert vocab == case["vocab"]


@pytest.mark.parametrize("k", range(len(DOC["iters"]["cases"])))
def test_bucket_sentence_iter_matches_mxnet(k, capsys):
    case = DOC["iters"]["cases"][k]
    random.seed(case["seed"])  # the iterator shuffles with Python's and numpy's global RNGs
    np.random.seed(case["seed"])
    it = mx.rnn.BucketSentenceIter(DOC["iters"]["sentences"], **case["kwargs"])
    assert "WARNING: discarded" in capsys.readouterr().out
    assert it.buckets == case["buckets"]
    assert it.default_bucket_key == case["default_bucket_key"]
    assert [[d.name, list(d.shape), d.layout] for d in it.provide_data] == case["provide_data"]
    assert [[d.name, list(d.shape), d.layout] for d in it.provide_label] == \
        case["provide_label"]
    arrays = _split(f"{case['name']}/batches", case["batches"])
    for e, batches in enumerate(case["epochs"]):
        it.reset()
        got = list(it)
        assert len(got) == len(batches)
        for b, (batch, want) in enumerate(zip(got, batches)):
            assert batch.bucket_key == want["bucket_key"]
            assert batch.pad == want["pad"]
            assert [[d.name, list(d.shape), d.layout] for d in batch.provide_data] == \
                want["provide_data"]
            assert [[d.name, list(d.shape), d.layout] for d in batch.provide_label] == \
                want["provide_label"]
            assert np.array_equal(batch.data[0].asnumpy(),
                                  arrays[f"{case['name']}/e{e}/b{b}/data"])
            assert np.array_equal(batch.label[0].asnumpy(),
                                  arrays[f"{case['name']}/e{e}/b{b}/label"])
            assert batch.data[0].dtype == np.float32


def test_bucket_sentence_iter_labels_are_next_tokens():
    random.seed(0)
    np.random.seed(0)
    sents = [[1, 2, 3], [4, 5, 6], [7, 8], [9, 10]]
    it = mx.rnn.BucketSentenceIter(sents, 2, buckets=[3], invalid_label=0, dtype="int32")
    batches = list(it)
    assert [b.bucket_key for b in batches] == [3, 3]
    rows = []
    for batch in batches:
        data, label = batch.data[0].asnumpy(), batch.label[0].asnumpy()
        assert data.dtype == np.int32 and data.shape == (2, 3)
        assert np.array_equal(label[:, :-1], data[:, 1:])
        assert np.array_equal(label[:, -1], [0, 0])
        rows.extend(map(tuple, data.tolist()))
    assert sorted(rows) == [(1, 2, 3), (4, 5, 6), (7, 8, 0), (9, 10, 0)]
    with pytest.raises(StopIteration):
        it.next()


def test_fused_rnn_initializer_matches_mxnet():
    for name in ("lstm_bi", "gru"):
        c = DOC["fused_init"][name]
        cell = mx.rnn.FusedRNNCell(c["num_hidden"], num_layers=c["num_layers"], mode=c["mode"],
                                   bidirectional=c["bidirectional"],
                                   forget_bias=c["forget_bias"], prefix=name + "_")
        out, _ = cell.unroll(2, mx.sym.Variable("data"), layout="TNC", merge_outputs=True)
        assert out.attr_dict()[name + "_parameters"]["__init__"] == c["attr"]
        mod = mx.mod.Module(out, data_names=["data"], label_names=None)
        mod.bind(data_shapes=[("data", (2, 1, 3))])
        mod.init_params(mx.init.One())
        got = mod.get_params()[0][name + "_parameters"].asnumpy()
        assert np.array_equal(got, ARRAYS[f"fused_init/{name}"]), name
    assert mx.init.FusedRNN is mx.rnn.rnn_cell.FusedRNN  # MXNet's name for it
    init = mx.init.create(DOC["fused_init"]["gru"]["attr"])
    assert isinstance(init, mx.init.FusedRNN)
    assert init.dumps() == DOC["fused_init"]["gru"]["attr"]


def test_fused_rnn_initializer_with_its_own_init():
    init = mx.init.FusedRNN(mx.init.Constant(0.25), 2, 2, "lstm", True, 1.5)
    assert init.dumps() == DOC["fused_init"]["const"]
    want = ARRAYS["fused_init_const"]
    arr = mx.nd.zeros(want.shape)
    init._init_weight(mx.init.InitDesc("x_parameters", global_init=mx.init.One()), arr)
    assert np.array_equal(arr.asnumpy(), want)
    # MXNet cannot re-create this one from its dumps() (KeyError in its registry); mxlite can
    again = mx.init.create(init.dumps())
    arr2 = mx.nd.zeros(want.shape)
    again._init_weight(mx.init.InitDesc("x_parameters", global_init=mx.init.One()), arr2)
    assert np.array_equal(arr2.asnumpy(), want)


def test_lstm_forget_bias_through_module_init():
    stack = mx.rnn.SequentialRNNCell()
    stack.add(mx.rnn.LSTMCell(3, forget_bias=2.0, prefix="a0_"))
    stack.add(mx.rnn.LSTMCell(3, forget_bias=0.5, prefix="a1_"))
    out, _ = stack.unroll(1, mx.sym.Variable("data"), merge_outputs=True)
    mod = mx.mod.Module(out, label_names=None)
    mod.bind(data_shapes=[("data", (2, 1, 4))])
    mod.init_params(mx.init.Zero())
    arg = mod.get_params()[0]
    for k in ("a0_i2h_bias", "a1_i2h_bias", "a0_h2h_bias"):
        assert np.array_equal(arg[k].asnumpy(), ARRAYS[f"lstm_bias/{k}"]), k
    assert arg["a0_i2h_bias"].asnumpy().tolist() == [0, 0, 0, 2, 2, 2] + [0] * 6


def test_bucketing_module_trained_on_bucket_sentence_iter():
    run = DOC["bucketing"]
    case = next(c for c in DOC["iters"]["cases"] if c["name"] == run["iter_case"])
    vocab_size, num_hidden, num_embed = run["vocab_size"], run["num_hidden"], run["num_embed"]

    def sym_gen(seq_len):
        stack = mx.rnn.SequentialRNNCell()
        stack.add(mx.rnn.LSTMCell(num_hidden, prefix="lstm_l0_"))
        stack.add(mx.rnn.GRUCell(num_hidden, prefix="gru_l1_"))
        embed = mx.sym.Embedding(data=mx.sym.Variable("data"), input_dim=vocab_size,
                                 output_dim=num_embed, name="embed")
        stack.reset()
        outputs, _ = stack.unroll(seq_len, inputs=embed, merge_outputs=True)
        pred = mx.sym.FullyConnected(data=mx.sym.Reshape(outputs, shape=(-1, num_hidden)),
                                     num_hidden=vocab_size, name="pred")
        label = mx.sym.Reshape(mx.sym.Variable("softmax_label"), shape=(-1,))
        return (mx.sym.SoftmaxOutput(data=pred, label=label, name="softmax"), ("data",),
                ("softmax_label",))

    random.seed(case["seed"])
    np.random.seed(case["seed"])
    it = mx.rnn.BucketSentenceIter(DOC["iters"]["sentences"], **case["kwargs"])
    bs = case["kwargs"]["batch_size"]
    mod = mx.mod.BucketingModule(sym_gen, default_bucket_key=it.default_bucket_key,
                                 context=mx.cpu())
    mod.bind(data_shapes=it.provide_data, label_shapes=it.provide_label)
    mod.init_params(mx.init.Zero())
    init = _split("bucketing/init", run["init"])
    assert sorted(mod.get_params()[0]) == sorted(init)
    mod.set_params({k: mx.nd.array(v) for k, v in init.items()}, {})
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": run["lr"],
                                                          "rescale_grad": 1.0 / bs})
    metric = mx.metric.Perplexity(0)
    outs = _split("bucketing/outs", run["outs"])
    it.reset()  # the recorded run used the iterator's first epoch after one reset
    keys = []
    for k, batch in enumerate(it):
        mod.forward(batch, is_train=True)
        np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), outs[str(k)],
                                   rtol=1e-4, atol=1e-5)
        mod.update_metric(metric, batch.label)
        mod.backward()
        mod.update()
        keys.append(batch.bucket_key)
    assert keys == run["bucket_keys"]
    assert sorted(mod._buckets) == sorted(set(keys))
    final = _split("bucketing/final", run["final"])
    got = mod.get_params()[0]
    for k, v in final.items():
        np.testing.assert_allclose(got[k].asnumpy(), v, rtol=1e-4, atol=1e-5, err_msg=k)
    assert metric.get()[1] == pytest.approx(run["perplexity"], rel=1e-4)


def _ckpt_model():
    """The generator's checkpointed model and its packed weights, in argument order (the
    order MXNet wrote them in)."""
    cell = mx.rnn.FusedRNNCell(2, num_layers=1, mode="lstm", prefix="ck_")
    with mx.name.NameManager():  # the Reshape is auto-named reshape0, as in MXNet's file
        o, _ = cell.unroll(2, mx.sym.Variable("data"), layout="TNC", merge_outputs=True)
        out = mx.sym.FullyConnected(mx.sym.Reshape(o, shape=(-1, 2)), num_hidden=2,
                                    name="fc")
    packed = {k: mx.nd.array(ARRAYS[f"ckpt/packed/{k}"])
              for k in out.list_arguments() if k != "data"}
    return cell, out, packed


def test_load_rnn_checkpoint_written_by_mxnet():
    cell, out, _ = _ckpt_model()
    sym, arg, aux = mx.rnn.load_rnn_checkpoint(cell, str(DATA / "ckpt"), 3)
    assert sym.list_arguments() == out.list_arguments()
    assert aux == {}
    assert sorted(arg) == DOC["checkpoint"]["packed"]
    for k in DOC["checkpoint"]["packed"]:
        assert np.array_equal(arg[k].asnumpy(), ARRAYS[f"ckpt/packed/{k}"]), k
    # the unfused stack reads the same file, packed as its LSTMCell wants: the fused
    # vector starts with the four (2, 3) i2h gate matrices, which stack to i2h_weight
    _, arg2, _ = mx.rnn.load_rnn_checkpoint([cell.unfuse()], str(DATA / "ckpt"), 3)
    assert sorted(arg2) == ["ck_l0_h2h_bias", "ck_l0_h2h_weight", "ck_l0_i2h_bias",
                            "ck_l0_i2h_weight", "fc_bias", "fc_weight"]
    flat = ARRAYS["ckpt/packed/ck_parameters"]
    assert np.array_equal(arg2["ck_l0_i2h_weight"].asnumpy(), flat[:24].reshape(8, 3))
    assert np.array_equal(arg2["ck_l0_h2h_weight"].asnumpy(), flat[24:40].reshape(8, 2))
    assert np.array_equal(arg2["ck_l0_i2h_bias"].asnumpy(), flat[40:48])
    assert np.array_equal(arg2["ck_l0_h2h_bias"].asnumpy(), flat[48:56])


def test_save_rnn_checkpoint_writes_mxnets_bytes(tmp_path):
    cell, out, packed = _ckpt_model()
    prefix = str(tmp_path / "ckpt")
    mx.rnn.save_rnn_checkpoint(cell, prefix, 3, out, packed, {})
    assert (tmp_path / "ckpt-0003.params").read_bytes() == \
        (DATA / "ckpt-0003.params").read_bytes()
    assert (tmp_path / "ckpt-symbol.json").read_bytes() == \
        (DATA / "ckpt-symbol.json").read_bytes()
    saved = mx.nd.load(prefix + "-0003.params")
    assert sorted(saved) == DOC["checkpoint"]["saved"]
    assert sorted(packed) == DOC["checkpoint"]["packed"]  # the caller's dict is not changed
    _, arg, _ = mx.rnn.load_rnn_checkpoint(cell, prefix, 3)
    for k, v in packed.items():
        assert np.array_equal(arg[k].asnumpy(), v.asnumpy()), k


def test_do_rnn_checkpoint_every_period(tmp_path):
    cell, out, packed = _ckpt_model()
    callback = mx.rnn.do_rnn_checkpoint(cell, str(tmp_path / "m"), period=2)
    for epoch in range(4):
        callback(epoch, out, packed, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-0002.params", "m-0004.params",
                                                          "m-symbol.json"]
    assert (tmp_path / "m-0004.params").read_bytes() == \
        (DATA / "ckpt-0003.params").read_bytes()


@pytest.mark.parametrize("make,match", [
    (lambda: mx.rnn.RNNCell(0), "num_hidden"),
    (lambda: mx.rnn.LSTMCell(4, prefix=3), "prefix"),
    (lambda: mx.rnn.GRUCell(4, params={}), "params"),
    (lambda: mx.rnn.FusedRNNCell(4, mode="bad"), "mode"),
    (lambda: mx.rnn.FusedRNNCell(4, num_layers=0), "num_layers"),
    (lambda: mx.rnn.DropoutCell("half"), "dropout"),
    (lambda: mx.rnn.ZoneoutCell(mx.rnn.FusedRNNCell(4)), "base_cell"),
    (lambda: mx.rnn.ZoneoutCell(mx.rnn.RNNCell(4), zoneout_outputs=1.5), "zoneout_outputs"),
    (lambda: mx.rnn.ResidualCell("cell"), "base_cell"),
    (lambda: mx.rnn.BidirectionalCell(mx.rnn.RNNCell(2), None), "r_cell"),
    (lambda: mx.rnn.SequentialRNNCell().add("cell"), "cell"),
    (lambda: mx.rnn.RNNCell(2).unroll(2, None), "inputs"),
    (lambda: mx.rnn.RNNCell(2).unroll(3, [mx.sym.Variable("a")]), "length"),
    (lambda: mx.rnn.RNNCell(2).unroll(2, mx.sym.Variable("a"), layout="NC"), "layout"),
    (lambda: mx.rnn.FusedRNNCell(2).unroll(2, mx.sym.Variable("a"), layout="NCT"), "layout"),
    (lambda: mx.rnn.LSTMCell(2, prefix="p_").unpack_weights({}), "p_i2h_weight"),
    (lambda: mx.rnn.FusedRNNCell(2).unpack_weights({"lstm_parameters": mx.nd.zeros((7,))}),
     "parameters"),
    (lambda: mx.rnn.BucketSentenceIter([[1, 2]], 1, layout="TC"), "layout"),
    (lambda: mx.rnn.BucketSentenceIter([[1, 2]], 0), "batch_size"),
    (lambda: mx.rnn.BucketSentenceIter([[1, 2, 3]], 1, buckets=[2]), "buckets"),
    (lambda: mx.rnn.encode_sentences([["a"]], vocab={"b": 1}), "unknown token"),
    (lambda: mx.rnn.save_rnn_checkpoint("cell", "x", 1, None, {}, {}), "cells"),
    (lambda: mx.init.FusedRNN(3, 2, 1, "lstm"), "init"),
])
def test_bad_arguments_raise_mxnet_error(make, match):
    with pytest.raises(MXNetError, match=match):
        make()


def test_namespace_is_mxnets():
    import mxlite.rnn

    assert mx.rnn is mxlite.rnn
    assert mx.rnn.io.BucketSentenceIter is mx.rnn.BucketSentenceIter
    assert mx.rnn.rnn_cell.LSTMCell is mx.rnn.LSTMCell
    assert mx.rnn.rnn.save_rnn_checkpoint is mx.rnn.save_rnn_checkpoint
    assert issubclass(mx.rnn.BucketSentenceIter, mx.io.DataIter)
    for name in ("RNNParams", "BaseRNNCell", "RNNCell", "LSTMCell", "GRUCell", "FusedRNNCell",
                 "SequentialRNNCell", "DropoutCell", "ModifierCell", "ZoneoutCell",
                 "ResidualCell", "BidirectionalCell", "ConvRNNCell", "ConvLSTMCell",
                 "ConvGRUCell", "encode_sentences", "BucketSentenceIter", "save_rnn_checkpoint",
                 "load_rnn_checkpoint", "do_rnn_checkpoint"):
        assert hasattr(mx.rnn, name), name
