"""Gluon Blocks against MXNet 1.9.1 (tests/fixtures/gen_gluon_block.py) and on their own.

The networks are the generator's own classes (``define``), built here on mxlite: names,
prefixes and structural names must be MXNet's, files written by ``save_parameters`` /
``save_params`` / ``export`` byte-identical, ``summary`` the same text, and forward values and
the gradients of a hybridized training step MXNet's.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import pathlib
import warnings

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite import autograd, gluon
from mxlite.base import MXNetError

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
BLOCK = DATA / "gluon" / "block"
DOC = json.loads((BLOCK / "block.json").read_text())
VALUES = np.load(BLOCK / "values.npz")


def _load_gen():
    spec = importlib.util.spec_from_file_location("gen_gluon_block",
                                                  FIXTURES / "gen_gluon_block.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


GEN = _load_gen()
BLOCKS = GEN.define(mx)


def _sha(path) -> str:
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def _net(cls: str = "Net"):
    """The generator's network, run once (deferred shapes) and given its values."""
    with mx.name.NameManager():
        net = BLOCKS[cls]()
    net.initialize()
    x = mx.nd.array(VALUES["x"])
    net(x)
    GEN.set_values(mx, net)
    return net, x


# ----------------------------------------------------------------------------------------
# Names.


def test_names_prefixes_and_reprs_match_mxnet():
    assert GEN.naming(mx) == DOC["naming"]


def test_top_level_blocks_are_named_by_the_current_name_manager():
    with mx.name.NameManager():
        a = BLOCKS["Lin"](2)
        with mx.name.Prefix("outer_"):
            b = BLOCKS["Lin"](2)  # a Prefix manager counts afresh and prefixes
        c = BLOCKS["Lin"](2)
    assert (a.prefix, b.prefix, c.prefix) == ("lin0_", "outer_lin0_", "lin1_")


def test_deferred_shapes_filled_at_first_forward():
    with mx.name.NameManager():
        net = BLOCKS["Net"]()
    net.initialize()
    to_list = {k: list(v) for k, v in DOC["deferred_shapes"]["before"].items()}
    assert {k: list(p.shape) for k, p in net.collect_params().items()} == to_list
    with pytest.raises(gluon.DeferredInitializationError, match="net0_seq0_lin0_weight"):
        net.features._children["0"].weight.data()
    net(mx.nd.array(VALUES["x"]))
    after = {k: list(v) for k, v in DOC["deferred_shapes"]["after"].items()}
    assert {k: list(p.shape) for k, p in net.collect_params().items()} == after


def test_deferred_init_when_hybridized_before_the_first_forward():
    with mx.name.NameManager():
        net = BLOCKS["Net"]()
    net.initialize()
    net.hybridize()
    x = mx.nd.array(VALUES["x"])
    net(x)  # shapes inferred from the traced graph, then the executor runs
    after = {k: list(v) for k, v in DOC["deferred_shapes"]["after"].items()}
    assert {k: list(p.shape) for k, p in net.collect_params().items()} == after
    GEN.set_values(mx, net)
    np.testing.assert_allclose(net(x).asnumpy(), VALUES["out/hybrid"], rtol=1e-5, atol=1e-6)
    with pytest.raises(MXNetError, match="argument structure of HybridBlock does not match"):
        net(x, x)


# ----------------------------------------------------------------------------------------
# Values and files.


def test_imperative_and_hybrid_forward_match_mxnet():
    net, x = _net()
    for k in net.collect_params():
        np.testing.assert_array_equal(net.collect_params()[k].data().asnumpy(),
                                      VALUES[f"param/{k}"])
    imp = net(x).asnumpy()
    np.testing.assert_allclose(imp, VALUES["out/imperative"], rtol=1e-5, atol=1e-6)
    net.hybridize()
    hyb = net(x).asnumpy()
    np.testing.assert_allclose(hyb, VALUES["out/hybrid"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hyb, imp, rtol=0, atol=1e-6)


def test_save_parameters_and_save_params_bytes_match_mxnet(tmp_path):
    net, _ = _net()
    net.save_parameters(str(tmp_path / "net.params"))
    want = DOC["files"]["save_parameters"]
    assert list(mx.nd.load(str(tmp_path / "net.params"))) == want["keys"]
    assert _sha(tmp_path / "net.params") == want["sha256"]
    with pytest.warns(UserWarning, match="save_params is deprecated"):
        net.save_params(str(tmp_path / "legacy.params"))
    assert _sha(tmp_path / "legacy.params") == DOC["files"]["save_params"]["sha256"]


def test_shared_parameters_saved_with_and_without_deduplicate(tmp_path):
    wrap, x = _net("Wrap")
    np.testing.assert_allclose(wrap(x).asnumpy(), VALUES["out/wrap"], rtol=1e-5, atol=1e-6)
    for name, kw in (("wrap_save_parameters", {}),
                     ("wrap_save_parameters_dedup", {"deduplicate": True})):
        f = tmp_path / f"{name}.params"
        wrap.save_parameters(str(f), **kw)
        assert list(mx.nd.load(str(f))) == DOC["files"][name]["keys"]
        assert _sha(f) == DOC["files"][name]["sha256"]
    # A deduplicated file loads back: a shared parameter needs only one of its names.
    with mx.name.NameManager():
        again = BLOCKS["Wrap"]()
    again.load_parameters(str(tmp_path / "wrap_save_parameters_dedup.params"))
    np.testing.assert_allclose(again(x).asnumpy(), VALUES["out/wrap"], rtol=1e-5, atol=1e-6)


def test_export_bytes_match_mxnet(tmp_path):
    net, x = _net()
    with pytest.raises(MXNetError, match="hybridize"):
        net.export(str(tmp_path / "early"))
    net.hybridize()
    net(x)
    net.export(str(tmp_path / "net"), epoch=3)
    want = DOC["files"]["export"]
    assert (tmp_path / "net-symbol.json").read_text() == want["symbol_json"]
    assert _sha(tmp_path / "net-symbol.json") == want["symbol_sha256"]
    assert list(mx.nd.load(str(tmp_path / "net-0003.params"))) == want["keys"]
    assert _sha(tmp_path / "net-0003.params") == want["params_sha256"]


def test_export_to_a_storage_uri_and_import_back():
    net, x = _net()
    net.hybridize()
    net(x)
    net.export("memory://gluon-block/net", epoch=1)
    sb = gluon.SymbolBlock.imports("memory://gluon-block/net-symbol.json", ["data"],
                                   "memory://gluon-block/net-0001.params")
    np.testing.assert_allclose(sb(x).asnumpy(), VALUES["out/symbolblock"], rtol=1e-5,
                               atol=1e-6)


def test_symbolblock_imports_export_files(tmp_path):
    net, x = _net()
    net.hybridize()
    net(x)
    net.export(str(tmp_path / "net"), epoch=3)
    sb = gluon.SymbolBlock.imports(str(tmp_path / "net-symbol.json"), ["data"],
                                   str(tmp_path / "net-0003.params"))
    assert list(sb.collect_params()) == DOC["symbolblock"]["params"]
    assert list(sb._reg_params) == DOC["symbolblock"]["reg_params"]
    assert repr(sb) == DOC["symbolblock"]["repr"]
    assert sb.collect_params()["net0_seq0_norm0_running_mean"].grad_req == "null"
    np.testing.assert_allclose(sb(x).asnumpy(), VALUES["out/symbolblock"], rtol=1e-5,
                               atol=1e-6)
    # The structure of the imported graph is the exported one.
    sym = sb(mx.sym.var("data"))
    assert sym.tojson() == mx.sym.load(str(tmp_path / "net-symbol.json")).tojson()


def test_summary_text_matches_mxnet():
    for cls, key in (("Net", "summary"), ("Wrap", "summary_wrap")):
        net, x = _net(cls)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            net.summary(x)
        assert out.getvalue() == DOC[key], cls
    net.hybridize()
    with pytest.raises(MXNetError, match="must not be hybridized"):
        net.summary(x)
    assert not net._forward_hooks  # the summary's hooks are gone even after an error


# ----------------------------------------------------------------------------------------
# Training through the hybridized graph.


@pytest.mark.parametrize("hybrid", [True, False])
def test_training_step_gradients_match_mxnet(hybrid):
    net, _ = _net()
    if hybrid:
        net.hybridize()
    x = mx.nd.array(VALUES["x"])
    x.attach_grad()
    with autograd.record():
        y = net(x)
    y.backward(mx.nd.array(VALUES["head"]))
    np.testing.assert_allclose(y.asnumpy(), VALUES["out/train"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.asnumpy(), VALUES["grad/x"], rtol=1e-4, atol=1e-5)
    for k, p in net.collect_params().items():
        if p.grad_req == "null":
            np.testing.assert_allclose(p.data().asnumpy(), VALUES[f"aux/{k}"], rtol=1e-5,
                                       atol=1e-6, err_msg=k)
        else:
            np.testing.assert_allclose(p.grad().asnumpy(), VALUES[f"grad/{k}"], rtol=1e-4,
                                       atol=1e-5, err_msg=k)


def test_hybrid_and_imperative_agree_on_outputs_and_gradients():
    results = []
    for hybrid in (False, True):
        net, x = _net()
        if hybrid:
            net.hybridize()
        x.attach_grad()
        with autograd.record():
            y = net(x)
            loss = (y * y).sum()
        loss.backward()
        results.append((y.asnumpy(), x.grad.asnumpy(),
                        {k: p.grad().asnumpy() for k, p in net.collect_params().items()
                         if p.grad_req != "null"}))
    (y0, gx0, g0), (y1, gx1, g1) = results
    np.testing.assert_allclose(y1, y0, rtol=0, atol=1e-6)
    np.testing.assert_allclose(gx1, gx0, rtol=0, atol=1e-5)
    for k in g0:
        np.testing.assert_allclose(g1[k], g0[k], rtol=1e-5, atol=1e-5, err_msg=k)


def test_hybridized_block_called_twice_before_backward():
    # Each call keeps its own values for backward (a siamese use of one block).
    net, _ = _net()
    net.hybridize()
    xa = mx.nd.array(VALUES["x"])
    xb = mx.nd.array(VALUES["x"][::-1].copy())
    grads = []
    for first, second in ((xa, xb), (xa, None), (xb, None)):
        with autograd.record():
            loss = net(first).sum() if second is None else (net(first) * net(second)).sum()
        loss.backward()
        grads.append(net.out.weight.grad().asnumpy().copy())
    # d/dW sum(f(a) * f(b)) computed again imperatively
    ref, _ = _net()
    with autograd.record():
        loss = (ref(xa) * ref(xb)).sum()
    loss.backward()
    np.testing.assert_allclose(grads[0], ref.out.weight.grad().asnumpy(), rtol=1e-5, atol=1e-5)


def test_executor_is_bound_once_per_input_shape():
    net, x = _net()
    net.hybridize()
    net(x)
    op = net._cached_op
    exe = next(iter(op._exes.values()))
    for _ in range(3):
        with autograd.record():
            net(x)
    assert list(op._exes.values()) == [exe]
    net(mx.nd.array(VALUES["x"][:2]))
    assert len(op._exes) == 2
    # The bound argument arrays are the parameters' own buffers, not copies.
    w = net.out.weight.data()
    arg = exe.arg_dict["net0_lin0_weight"]
    assert arg._data is w._data


def test_grad_req_add_accumulates_and_null_skips():
    net, x = _net()
    net.hybridize()
    net.out.weight.grad_req = "add"
    net.out.bias.grad_req = "null"
    for _ in range(2):
        with autograd.record():
            y = net(x)
        y.backward(mx.nd.array(VALUES["head"]))
    np.testing.assert_allclose(net.out.weight.grad().asnumpy(),
                               2 * VALUES["grad/net0_lin0_weight"], rtol=1e-4, atol=1e-5)
    with pytest.raises(MXNetError, match="grad_req='null'"):
        net.out.bias.grad()
    net.collect_params().zero_grad()
    assert not net.out.weight.grad().asnumpy().any()


@pytest.mark.parametrize("hybrid", [True, False])
def test_moving_statistics_move_in_backward_only(hybrid):
    # As in MXNet 1.9.1: neither a predict nor a train-mode forward moves them; the backward
    # of a recorded training forward does.
    net, x = _net()
    if hybrid:
        net.hybridize()
    stats = net.features._children["1"].running_mean
    before = stats.data().asnumpy().copy()
    net(x)
    with autograd.train_mode():
        net(x)
    with autograd.record():
        y = net(x)
    np.testing.assert_array_equal(stats.data().asnumpy(), before)
    y.backward()
    assert not np.array_equal(stats.data().asnumpy(), before)


# ----------------------------------------------------------------------------------------
# Loading.


def test_load_parameters_roundtrip_and_cast(tmp_path):
    net, x = _net()
    f = str(tmp_path / "net.params")
    net.save_parameters(f)
    with mx.name.NameManager():
        other = BLOCKS["Net"]()
    other.load_parameters(f)
    np.testing.assert_allclose(other(x).asnumpy(), VALUES["out/imperative"], rtol=1e-5,
                               atol=1e-6)
    other.cast("float64")
    assert other.out.weight.data().dtype == np.float64
    with pytest.raises(MXNetError, match="dtype incompatible"):
        other.load_parameters(f)
    other.load_parameters(f, cast_dtype=True)
    assert other.out.weight.data().dtype == np.float64
    other.load_parameters(f, cast_dtype=True, dtype_source="saved")
    assert other.out.weight.data().dtype == np.float32


def test_failed_load_changes_nothing(tmp_path):
    net, x = _net()
    f = str(tmp_path / "net.params")
    net.save_parameters(f)
    saved = {k: v.asnumpy() for k, v in mx.nd.load(f).items()}

    def snapshot(n):
        return {k: p.data().asnumpy().copy() for k, p in n.collect_params().items()}

    with mx.name.NameManager():
        other = BLOCKS["Net"]()
    other.initialize(mx.init.One())
    other(x)
    before = snapshot(other)

    # A wrong shape in the last array: the earlier ones must not be loaded either.
    bad = dict(saved)
    bad["out.bias"] = np.zeros((4,), np.float32)
    bad["features.0.weight"] = saved["features.0.weight"] * 3
    mx.nd.save(str(tmp_path / "bad.params"), {k: mx.nd.array(v) for k, v in bad.items()})
    with pytest.raises(MXNetError) as e:
        other.load_parameters(str(tmp_path / "bad.params"))
    msg = str(e.value)
    assert "net0_lin0_bias" in msg and "(3,)" in msg and "(4,)" in msg
    after = snapshot(other)
    assert all(np.array_equal(after[k], before[k]) for k in before)

    # Missing and extra names are all listed.
    partial = {k: mx.nd.array(v) for k, v in saved.items() if not k.startswith("out.")}
    partial["extra.weight"] = mx.nd.zeros((2,))
    mx.nd.save(str(tmp_path / "partial.params"), partial)
    with pytest.raises(MXNetError) as e:
        other.load_parameters(str(tmp_path / "partial.params"))
    msg = str(e.value)
    assert "'out.weight', 'out.bias'" in msg and "'extra.weight'" in msg
    after = snapshot(other)
    assert all(np.array_equal(after[k], before[k]) for k in before)
    other.load_parameters(str(tmp_path / "partial.params"), allow_missing=True,
                          ignore_extra=True)
    np.testing.assert_array_equal(other.features._children["0"].weight.data().asnumpy(),
                                  saved["features.0.weight"])
    np.testing.assert_array_equal(other.out.weight.data().asnumpy(), before["net0_lin0_weight"])


def test_load_parameters_reads_prefixed_files_as_mxnet_does(tmp_path):
    net, x = _net()
    with pytest.warns(UserWarning):
        net.save_params(str(tmp_path / "legacy.params"))
    with mx.name.NameManager():
        other = BLOCKS["Net"]()
    other.load_parameters(str(tmp_path / "legacy.params"))
    np.testing.assert_allclose(other(x).asnumpy(), VALUES["out/imperative"], rtol=1e-5,
                               atol=1e-6)
    # export's arg:/aux: names carry the full prefix, which MXNet prepends again: refused.
    net.hybridize()
    net(x)
    net.export(str(tmp_path / "net"))
    with pytest.raises(MXNetError, match="is missing in file"):
        other.load_parameters(str(tmp_path / "net-0000.params"))
    # ... but a ParameterDict loads them by full name.
    fresh, _ = _net()
    fresh.initialize(mx.init.Zero(), force_reinit=True)
    fresh.collect_params().load(str(tmp_path / "net-0000.params"))
    np.testing.assert_allclose(fresh(x).asnumpy(), VALUES["out/imperative"], rtol=1e-5,
                               atol=1e-6)


def test_save_and_load_through_a_storage_uri():
    net, x = _net()
    net.save_parameters("memory://gluon-block/params")
    with mx.name.NameManager():
        other = BLOCKS["Net"]()
    other.load_parameters("memory://gluon-block/params")
    np.testing.assert_allclose(other(x).asnumpy(), VALUES["out/imperative"], rtol=1e-5,
                               atol=1e-6)


# ----------------------------------------------------------------------------------------
# The Module CNN as a SymbolBlock.


@pytest.fixture(scope="module")
def cnn_io():
    return np.load(DATA / "module" / "cnn_io.npz")


def _cnn_block(no_dropout: bool = False):
    sym_file = str(DATA / "module" / "cnn-symbol.json")
    params = str(DATA / "module" / "cnn-0000.params")
    if not no_dropout:
        return gluon.SymbolBlock.imports(sym_file, ["data", "softmax_label"], params)
    doc = json.loads(pathlib.Path(sym_file).read_text())
    for node in doc["nodes"]:
        if node["op"] == "Dropout":
            node["attrs"]["p"] = "0"
    sym = mx.sym.load_json(json.dumps(doc))
    block = gluon.SymbolBlock(sym, [mx.sym.var("data"), mx.sym.var("softmax_label")])
    block.collect_params().load(params, cast_dtype=True, dtype_source="saved")
    return block


def test_symbolblock_imports_module_checkpoint_inference(cnn_io):
    block = _cnn_block()
    aux = [p for p in block.collect_params().values() if p.grad_req == "null"]
    assert sorted(p.name for p in aux) == ["bn1_moving_mean", "bn1_moving_var"]
    out = block(mx.nd.array(cnn_io["data"]), mx.nd.array(cnn_io["label"]))
    np.testing.assert_allclose(out.asnumpy(), cnn_io["out_inference"], rtol=1e-4, atol=1e-5)


def test_symbolblock_training_matches_module(cnn_io):
    block = _cnn_block(no_dropout=True)
    data = mx.nd.array(cnn_io["data"])
    data.attach_grad()
    with autograd.record():
        out = block(data, mx.nd.array(cnn_io["label"]))
    out.backward()  # SoftmaxOutput: the head gradient is ignored, as in Module
    np.testing.assert_allclose(out.asnumpy(), cnn_io["out_train_nodropout"], rtol=1e-4,
                               atol=1e-5)
    params = block.collect_params()
    for name in ("bn1_moving_mean", "bn1_moving_var"):
        np.testing.assert_allclose(params[name].data().asnumpy(), cnn_io[f"aux_after_{name}"],
                                   rtol=1e-4, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(data.grad.asnumpy(), cnn_io["grad_data"], rtol=1e-3, atol=1e-5)
    for key in cnn_io.files:
        if key.startswith("grad_") and key != "grad_data":
            name = key[len("grad_"):]
            np.testing.assert_allclose(params[name].grad().asnumpy(), cnn_io[key], rtol=1e-3,
                                       atol=1e-5, err_msg=name)


# ----------------------------------------------------------------------------------------
# Block behaviour.


def test_forward_hooks_and_handles():
    net, x = _net()
    calls = []
    pre = net.register_forward_pre_hook(lambda b, args: calls.append(("pre", b.name)))
    post = net.out.register_forward_hook(
        lambda b, args, out: calls.append(("post", b.name, out.shape)))
    net(x)
    assert calls == [("pre", "net0"), ("post", "net0_lin0", (4, 3))]
    pre.detach()
    with post:
        pass  # leaving the with block detaches too
    calls.clear()
    net(x)
    assert calls == []


def test_apply_cast_and_collect_params_select():
    net, x = _net()
    seen = []
    assert net.apply(lambda b: seen.append(b.name)) is net
    assert seen == ["net0_seq0_lin0", "net0_seq0_norm0", "net0_seq0_act0", "net0_seq0_lin1",
                    "net0_seq0", "net0_lin0", "net0"]
    sel = net.collect_params("net0_lin0_.*")
    assert list(sel) == ["net0_lin0_weight", "net0_lin0_bias"]
    net.cast("float64")
    assert all(p.dtype == "float64" for p in net.collect_params().values())
    assert net.out.weight.grad().dtype == np.float64
    y = net(x.astype("float64"))
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.asnumpy(), VALUES["out/imperative"], rtol=1e-5, atol=1e-5)
    net.hybridize()
    np.testing.assert_allclose(net(x.astype("float64")).asnumpy(), y.asnumpy(), rtol=1e-12)


def test_hybrid_child_rules_and_attribute_type_changes():
    net, _ = _net()
    with pytest.raises(MXNetError, match="Children of HybridBlock must also be HybridBlock"):
        net.register_child(gluon.Block())
    with pytest.raises(TypeError, match="Changing attribute type"):
        net.out = 3
    with pytest.raises(MXNetError, match="Overriding Parameter attribute"):
        net.out.weight = gluon.Parameter("w")


def test_unregistered_container_warns():
    class Holder(gluon.Block):
        def __init__(self):
            super().__init__()
            self.layers = [BLOCKS["Lin"](2)]

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        params = Holder().collect_params()
    msgs = [str(w.message) for w in seen if w.category is UserWarning]
    assert len(msgs) == 1 and "unregistered container" in msgs[0]
    assert list(params.keys()) == []  # the list's block is not registered, so not collected


def test_multiple_inputs_outputs_and_none():
    class Two(gluon.HybridBlock):
        def hybrid_forward(self, F, a, b, c=None):  # noqa: N803
            s = F.broadcast_add(a, b)
            return s, [s * 2, F.relu(b)]

    blk = Two()
    a, b = mx.nd.array([[1.0, -2.0]]), mx.nd.array([[3.0, -4.0]])
    imp = blk(a, b)
    blk.hybridize()
    hyb = blk(a, b)
    data, out = blk._cached_graph
    assert [d.name for d in data] == ["data0", "data1"]
    assert isinstance(hyb, list) and isinstance(hyb[1], list)
    for u, v in ((imp[0], hyb[0]), (imp[1][0], hyb[1][0]), (imp[1][1], hyb[1][1])):
        np.testing.assert_array_equal(u.asnumpy(), v.asnumpy())
    with pytest.raises(MXNetError, match="mixed NDArrays and Symbols"):
        blk(a, mx.sym.var("b"))


def test_symbolic_call_and_infer_shape_type():
    with mx.name.NameManager():
        lin = BLOCKS["Lin"](3)
    out = lin(mx.sym.var("data"))
    assert out.list_arguments() == ["data", "lin0_weight", "lin0_bias"]
    assert out.name == "lin0_fullyconnected0"
    lin.infer_shape(mx.nd.zeros((2, 7)))
    assert lin.weight.shape == (3, 7)
    lin.infer_type(mx.nd.zeros((2, 7)))
    assert np.dtype(lin.weight.dtype) == np.float32
    # The traced variables declare float32, as in MXNet, so float64 data is refused.
    with pytest.raises(MXNetError, match="FullyConnected"):
        lin.infer_type(mx.nd.zeros((2, 7), dtype="float64"))


def test_op_hook_sees_every_operator_output():
    net, x = _net()
    net.hybridize()
    seen = []
    net.register_op_hook(lambda name, op, arr: seen.append((name, op, arr.shape)))
    net(x)
    # Names arrive as bytes, as MXNet's C callback gives them.
    assert (b"net0_seq0_lin0_fullyconnected0_output", b"FullyConnected", (4, 8)) in seen
    assert seen[-1][0] == b"net0_broadcast_add0_output"


def test_block_save_and_load_model_structure(tmp_path):
    net, x = _net()
    net.hybridize()
    net(x)
    net.save(str(tmp_path / "m"))
    with mx.name.NameManager():
        BLOCKS["Net"]()  # net0_ taken: the new one is net1_
        other = BLOCKS["Net"]()
    assert other.prefix == "net1_"
    other.load(str(tmp_path / "m"))
    assert other.name == "net0"
    np.testing.assert_allclose(other(x).asnumpy(), VALUES["out/imperative"], rtol=1e-5,
                               atol=1e-6)


def test_optimize_for_builds_without_running():
    net, x = _net()
    with pytest.raises(MXNetError, match="backend"):
        net.optimize_for(x)
    net.optimize_for(x, backend="default")
    assert net._cached_op is not None
    np.testing.assert_allclose(net(x).asnumpy(), VALUES["out/hybrid"], rtol=1e-5, atol=1e-6)


def test_hybridize_with_hooks_warns():
    net, _ = _net()
    net.register_forward_hook(lambda *a: None)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        net.hybridize()
    assert any("hook" in str(i.message) for i in w)


def test_symbolblock_from_internals_shares_parameters():
    net, x = _net()
    internals = net(mx.sym.var("data")).get_internals()
    outputs = [internals["net0_seq0_lin0_fullyconnected0_output"],
               internals["net0_lin0_fullyconnected0_output"]]
    feat = gluon.SymbolBlock(outputs, mx.sym.var("data"), params=net.collect_params())
    assert feat.collect_params()["net0_lin0_weight"] is net.out.weight
    first, last = feat(x)
    assert first.shape == (4, 8) and last.shape == (4, 3)
    ref = net.out(net.features(x))
    np.testing.assert_allclose(last.asnumpy(), ref.asnumpy(), rtol=1e-6, atol=1e-6)


def test_symbolblock_deferred_initialization():
    with mx.name.NameManager():
        lin = BLOCKS["Lin"](3)
    data = mx.sym.var("data")
    blk = gluon.SymbolBlock(lin(data), data)
    assert blk.collect_params()["lin0_weight"].shape is None
    blk.initialize(mx.init.One())
    y = blk(mx.nd.ones((2, 5)))
    assert blk.collect_params()["lin0_weight"].shape == (3, 5)
    # No init attribute on imported variables: the bias gets One() too, as in MXNet.
    np.testing.assert_array_equal(y.asnumpy(), np.full((2, 3), 6, np.float32))
