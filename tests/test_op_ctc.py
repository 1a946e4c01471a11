"""The CTCLoss operator: MXNet 1.9.1's values (tests/data/ops/ctc, from
tests/fixtures/gen_ctc.py), a brute-force check over every alignment, and its edge cases."""

from __future__ import annotations

import itertools
import json
import pathlib

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.ops import registry

DATA = pathlib.Path(__file__).parent / "data" / "ops" / "ctc"
DOC = json.loads((DATA / "cases.json").read_text())
ARRAYS = np.load(DATA / "data.npz", allow_pickle=False)
# The MXNet function each case called; mx.nd.contrib.ctc_loss is the registry's
# _contrib_ctc_loss.
FUNCS = {"CTCLoss": "CTCLoss", "ctc_loss": "ctc_loss", "contrib.ctc_loss": "_contrib_ctc_loss"}


def _inputs(case: dict) -> dict[str, mx.nd.NDArray]:
    name = case["name"]
    return {k: mx.nd.array(ARRAYS[f"{name}/in/{k}"], dtype=ARRAYS[f"{name}/in/{k}"].dtype)
            for k in case["inputs"]}


@pytest.mark.parametrize("case", DOC["cases"], ids=lambda c: c["name"])
def test_matches_mxnet(case):
    name = case["name"]
    fn = getattr(mx.nd, FUNCS[case["func"]])
    nds = _inputs(case)
    loss = fn(**nds, **case["kwargs"])
    # float32 in warp-ctc's order: the losses agree to the last bit or two
    np.testing.assert_allclose(loss.asnumpy(), ARRAYS[f"{name}/loss"], rtol=1e-6, atol=1e-6)
    nds["data"].attach_grad()
    with mx.autograd.record():
        out = fn(**nds, **case["kwargs"])
    out.backward(mx.nd.array(ARRAYS[f"{name}/head"]))
    np.testing.assert_allclose(out.asnumpy(), ARRAYS[f"{name}/loss_train"], rtol=1e-6,
                               atol=1e-6)
    grad = nds["data"].grad.asnumpy()
    keep = np.ones(grad.shape[1], bool)
    keep[case["undefined_grad_examples"]] = False
    # Occupancies are summed in another order than warp-ctc's float32 loop: 1e-5 covers it
    # (a float64 run differs from MXNet by up to 3e-5 on the 30-step case).
    np.testing.assert_allclose(grad[:, keep], ARRAYS[f"{name}/grad"][:, keep], rtol=1e-5,
                               atol=1e-5)
    assert not grad[:, ~keep].any()  # MXNet leaves these unwritten; mxlite writes zeros


# ----------------------------------------------------------------------------------------
# Brute force: the probability of a labelling is the sum over every alignment that collapses
# to it (repeats merged, then blanks dropped).


def _log_softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _brute_loss(x: np.ndarray, labels: list[int], blank: int) -> float:
    steps, alphabet = x.shape
    logp = _log_softmax(x)
    total = 0.0
    for path in itertools.product(range(alphabet), repeat=steps):
        merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
        if [c for c in merged if c != blank] == labels:
            total += np.exp(sum(logp[t, c] for t, c in enumerate(path)))
    return -np.log(total)


@pytest.mark.parametrize("blank_label", ["first", "last"])
def test_brute_force_loss_and_gradient(blank_label):
    rng = np.random.default_rng(7)
    steps, batch, alphabet = 4, 3, 4
    x = rng.standard_normal((steps, batch, alphabet))
    blank = 0 if blank_label == "first" else alphabet - 1
    off = 1 if blank_label == "first" else 0
    seqs = [[0, 1], [2, 2], []]  # plain, repeated, empty
    seqs = [[s + off for s in seq] for seq in seqs]
    pad = 0 if blank_label == "first" else -1
    label = np.full((batch, 2), pad, np.float64)
    for b, seq in enumerate(seqs):
        label[b, :len(seq)] = seq
    lengths = np.array([4, 3, 2], np.float64)
    nd_x = mx.nd.array(x, dtype="float64")
    nd_x.attach_grad()
    with mx.autograd.record():
        loss = mx.nd.CTCLoss(nd_x, mx.nd.array(label, dtype="float64"),
                             mx.nd.array(lengths, dtype="float64"), use_data_lengths=True,
                             blank_label=blank_label)
    loss.backward()
    assert loss.dtype == np.float64
    want = [_brute_loss(x[:int(n), b], seqs[b], blank) for b, n in enumerate(lengths)]
    np.testing.assert_allclose(loss.asnumpy(), want, rtol=1e-12)
    # gradient: central differences of the brute-force loss, zero past each length
    eps = 1e-6
    num = np.zeros_like(x)
    for t, b, a in itertools.product(range(steps), range(batch), range(alphabet)):
        if t >= lengths[b]:
            continue
        hi, lo = x[:int(lengths[b]), b].copy(), x[:int(lengths[b]), b].copy()
        hi[t, a] += eps
        lo[t, a] -= eps
        num[t, b, a] = (_brute_loss(hi, seqs[b], blank) - _brute_loss(lo, seqs[b], blank)) \
            / (2 * eps)
    np.testing.assert_allclose(nd_x.grad.asnumpy(), num, atol=1e-7)


def test_every_label_empty():
    # MXNet returns uninitialised memory here (warp-ctc refuses an empty label buffer); the
    # loss is the probability of blanks throughout.
    x = np.random.default_rng(3).standard_normal((5, 2, 4)).astype(np.float32)
    nd_x = mx.nd.array(x)
    nd_x.attach_grad()
    with mx.autograd.record():
        loss = mx.nd.CTCLoss(nd_x, mx.nd.array(-np.ones((2, 3))), blank_label="last")
    loss.backward()
    logp = _log_softmax(x.astype(np.float64))
    np.testing.assert_allclose(loss.asnumpy(), -logp[:, :, 3].sum(axis=0), rtol=1e-6)
    want = np.exp(logp)
    want[:, :, 3] -= 1
    np.testing.assert_allclose(nd_x.grad.asnumpy(), want, atol=1e-6)


def test_labels_that_cannot_fit_cost_nothing():
    # three labels with two repeats need five steps; warp-ctc gives such an example 0
    x = mx.nd.array(np.random.default_rng(4).standard_normal((4, 2, 3)))
    x.attach_grad()
    with mx.autograd.record():
        loss = mx.nd.CTCLoss(x, mx.nd.array([[1, 1, 1], [1, 2, 0]]))
    loss.backward()
    assert loss.asnumpy()[0] == 0
    assert loss.asnumpy()[1] > 0
    assert not x.grad.asnumpy()[:, 0].any()
    assert x.grad.asnumpy()[:, 1].any()


def test_padding_and_lengths_agree():
    # label_lengths gives the same answer as the padding it replaces; values past a length
    # are ignored
    rng = np.random.default_rng(5)
    x = mx.nd.array(rng.standard_normal((6, 2, 5)))
    padded = mx.nd.CTCLoss(x, mx.nd.array([[1, 2, 0, 0], [3, 0, 0, 0]]))
    by_len = mx.nd.CTCLoss(x, mx.nd.array([[1, 2, 4, 4], [3, 1, 2, 3]]),
                           mx.nd.array([2, 1]), use_label_lengths=True)
    np.testing.assert_array_equal(padded.asnumpy(), by_len.asnumpy())
    last = mx.nd.CTCLoss(mx.nd.array(np.roll(x.asnumpy(), -1, axis=2)),
                         mx.nd.array([[0, 1, -1, -1], [2, -1, -1, -1]]), blank_label="last")
    np.testing.assert_allclose(last.asnumpy(), padded.asnumpy(), rtol=1e-6)


# ----------------------------------------------------------------------------------------
# Declaration: names, inputs, outputs, inference.


def test_names_and_structure():
    op = registry.get("CTCLoss")
    for alias in ("ctc_loss", "_contrib_CTCLoss", "_contrib_ctc_loss"):
        assert registry.get(alias) is op
    attrs = op.parse_attrs({})
    assert op.list_inputs(attrs) == ["data", "label"]
    assert op.list_outputs(attrs) == ["output0", "output1"]
    assert op.visible_outputs(attrs) == 1
    both = op.parse_attrs({"use_data_lengths": "1", "use_label_lengths": "True"})
    assert op.list_inputs(both) == ["data", "label", "data_lengths", "label_lengths"]
    only_label = op.parse_attrs({"use_label_lengths": "True"})
    assert op.list_inputs(only_label) == ["data", "label", "label_lengths"]
    with pytest.raises(MXNetError, match="blank_label"):
        op.parse_attrs({"blank_label": "middle"})


def test_shape_and_type_inference():
    op = registry.get("CTCLoss")
    attrs = op.parse_attrs({"use_data_lengths": "True"})
    ins, outs = op.shapes(attrs, [(7, 3, 5), (3, 4), (3,)])
    assert ins == [(7, 3, 5), (3, 4), (3,)]
    assert outs == [(3,), (7, 3, 5)]
    ins, outs = op.types(attrs, [np.dtype("float32"), None, None])
    assert outs == [np.dtype("float32")] * 2
    assert ins[1] is None
    for bad, what in [([(7, 3), (3, 4), (3,)], "data must be 3-D"),
                      ([(7, 3, 5), None, (3,)], "label must be 2-D"),
                      ([(7, 3, 5), (2, 4), (3,)], "batch size"),
                      ([(3, 3, 5), (3, 4), (3,)], "cannot exceed"),
                      ([(7, 3, 5), (3, 4), (4,)], "data_lengths"),
                      ([(7, 3, 5), (3, 4), None], "data_lengths must be a vector")]:
        with pytest.raises(MXNetError, match=what):
            op.shapes(attrs, bad)


def test_symbol_executor_matches_imperative():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((6, 2, 5)).astype(np.float32)
    lab = np.array([[1, 2, 0], [3, 3, 0]], np.float32)
    s = mx.sym.CTCLoss(mx.sym.var("data"), mx.sym.var("label"), name="ctc")
    assert s.list_outputs() == ["ctc_output0"]
    assert mx.sym.load_json(s.tojson()).list_outputs() == ["ctc_output0"]
    exe = s.simple_bind(mx.cpu(), data=x.shape, label=lab.shape,
                        grad_req={"data": "write", "label": "null"})
    out = exe.forward(is_train=True, data=mx.nd.array(x), label=mx.nd.array(lab))[0]
    head = np.array([0.5, -2.0], np.float32)
    exe.backward([mx.nd.array(head)])
    nd_x = mx.nd.array(x)
    nd_x.attach_grad()
    with mx.autograd.record():
        ref = mx.nd.CTCLoss(nd_x, mx.nd.array(lab))
    ref.backward(mx.nd.array(head))
    np.testing.assert_array_equal(out.asnumpy(), ref.asnumpy())
    np.testing.assert_array_equal(exe.grad_dict["data"].asnumpy(), nd_x.grad.asnumpy())


@pytest.mark.parametrize("kwargs, inputs, what", [
    ({}, {"label": [[1, 5]]}, "label values must lie in"),
    ({"blank_label": "last"}, {"label": [[5, -1]]}, "label values must lie in"),
    ({"use_data_lengths": True}, {"data_lengths": [4]}, "data_lengths must hold"),
    ({"use_label_lengths": True}, {"label_lengths": [3]}, "label_lengths must hold"),
    ({"use_label_lengths": True}, {"label_lengths": [-1]}, "label_lengths must hold"),
])
def test_bad_values_are_refused(kwargs, inputs, what):
    args = {"data": np.zeros((3, 1, 5)), "label": [[1, 2]], **inputs}
    nds = {k: mx.nd.array(v) for k, v in args.items()}
    with pytest.raises(MXNetError, match=what):
        mx.nd.CTCLoss(**nds, **kwargs)
