"""Finite-difference gradient checks for the tensor-manipulation kernels (ops/tensor.py), plus
the kernels' contracts: no input is ever written, fresh results never alias an input, index
inputs get no gradient, and MXNet's refusals are errors naming the operator.

Each differentiable case compares backward with central differences of
``L = sum_i <output_i, head_i>`` in float64 (random heads, also on hidden and integer-valued
outputs, whose numerical derivative is zero like their kernels' contribution).
"""

from __future__ import annotations

import numpy as np
import pytest

from mxlite.base import MXNetError
from mxlite.ops import registry
from mxlite.ops.registry import OpContext

EPS = 1e-6
RTOL, ATOL = 1e-5, 1e-7


def _ints(*values, shape=None):
    """Fixed index-like values (lengths, indices, conditions), optionally reshaped."""
    return ("values", values, shape or (len(values),))


# (case id, op, kwargs, inputs {name: shape or ("values", ...)}, inputs to differentiate)
CASES = [
    ("flatten", "Flatten", {}, {"data": (2, 3, 2)}, ["data"]),
    ("reshape", "Reshape", {"shape": "(0,-3)"}, {"data": (2, 3, 2)}, ["data"]),
    ("reshape_like", "reshape_like", {}, {"lhs": (2, 3), "rhs": (3, 2)}, ["lhs"]),
    ("transpose", "transpose", {"axes": "(1,2,0)"}, {"data": (2, 3, 2)}, ["data"]),
    ("expand_dims", "expand_dims", {"axis": "-1"}, {"data": (2, 3)}, ["data"]),
    ("squeeze", "squeeze", {"axis": "(0,)"}, {"data": (1, 3, 2)}, ["data"]),
    ("concat", "Concat", {"dim": "1", "num_args": "2"}, {"arg0": (2, 1), "arg1": (2, 3)},
     ["arg0", "arg1"]),
    ("stack", "stack", {"axis": "1", "num_args": "2"}, {"arg0": (2, 3), "arg1": (2, 3)},
     ["arg0", "arg1"]),
    ("split", "SliceChannel", {"num_outputs": "2", "axis": "1"}, {"data": (2, 4)}, ["data"]),
    ("split_squeeze", "SliceChannel", {"num_outputs": "3", "axis": "0", "squeeze_axis": "1"},
     {"data": (3, 2)}, ["data"]),
    ("slice", "slice", {"begin": "(None,3)", "end": "(None,0)", "step": "(2,-2)"},
     {"data": (3, 4)}, ["data"]),
    ("slice_axis", "slice_axis", {"axis": "1", "begin": "-3", "end": "None"}, {"data": (2, 4)},
     ["data"]),
    ("slice_like", "slice_like", {"axes": "(1,)"}, {"data": (2, 4), "shape_like": (1, 2)},
     ["data"]),
    ("take", "take", {"axis": "0"}, {"a": (3, 2), "indices": _ints(2, 0, 2, 2)}, ["a"]),
    ("take_wrap_axis1", "take", {"axis": "1", "mode": "wrap"},
     {"a": (2, 3), "indices": _ints(-1, 4, 0.5)}, ["a"]),
    ("pick", "pick", {"axis": "0", "keepdims": "True"}, {"data": (3, 2), "index": _ints(2, 0)},
     ["data"]),
    ("tile", "tile", {"reps": "(2,1,2)"}, {"data": (2, 3)}, ["data"]),
    ("repeat", "repeat", {"repeats": "2", "axis": "1"}, {"data": (2, 3)}, ["data"]),
    ("repeat_flat", "repeat", {"repeats": "3"}, {"data": (2, 2)}, ["data"]),
    ("reverse", "reverse", {"axis": "(0,1)"}, {"data": (2, 3)}, ["data"]),
    ("swapaxis", "SwapAxis", {"dim1": "0", "dim2": "2"}, {"data": (2, 1, 3)}, ["data"]),
    ("where", "where", {},
     {"condition": _ints(1, 0, 0, 2, 0, 1, shape=(2, 3)), "x": (2, 3), "y": (2, 3)}, ["x", "y"]),
    ("where_rows", "where", {}, {"condition": _ints(0, 1), "x": (2, 3), "y": (2, 3)},
     ["x", "y"]),
    ("clip", "clip", {"a_min": "-0.5", "a_max": "0.5"}, {"data": (3, 4)}, ["data"]),
    ("cast", "Cast", {"dtype": "float64"}, {"data": (2, 3)}, ["data"]),
    ("copy", "_copy", {}, {"data": (2, 3)}, ["data"]),
    ("broadcast_to", "broadcast_to", {"shape": "(2,0,3)"}, {"data": (1, 2, 1)}, ["data"]),
    ("broadcast_like", "broadcast_like", {"lhs_axes": "(0,)", "rhs_axes": "(1,)"},
     {"lhs": (1, 2), "rhs": (2, 3)}, ["lhs"]),
    ("broadcast_axis", "broadcast_axis", {"axis": "(0,2)", "size": "(2,3)"},
     {"data": (1, 2, 1)}, ["data"]),
    ("topk_value", "topk", {"k": "2", "ret_typ": "value", "axis": "0"}, {"data": (3, 2)},
     ["data"]),
    ("topk_both_none", "topk", {"k": "3", "ret_typ": "both", "axis": "None",
                                "is_ascend": "True"}, {"data": (2, 3)}, ["data"]),
    ("sort", "sort", {"is_ascend": "False"}, {"data": (2, 4)}, ["data"]),
    ("sort_none", "sort", {"axis": "None"}, {"data": (2, 3)}, ["data"]),
    ("seqmask", "SequenceMask", {"use_sequence_length": "1", "value": "3"},
     {"data": (3, 2, 2), "sequence_length": _ints(1, 3)}, ["data"]),
    ("seqmask_axis1", "SequenceMask", {"use_sequence_length": "1", "axis": "1"},
     {"data": (2, 3), "sequence_length": _ints(2.5, 0)}, ["data"]),
    ("seqlast", "SequenceLast", {"use_sequence_length": "1"},
     {"data": (3, 2, 2), "sequence_length": _ints(2, 3)}, ["data"]),
    ("seqlast_axis1", "SequenceLast", {"use_sequence_length": "1", "axis": "1"},
     {"data": (2, 3), "sequence_length": _ints(1, 3)}, ["data"]),
    ("seqlast_nolen", "SequenceLast", {}, {"data": (3, 2)}, ["data"]),
    ("seqrev", "SequenceReverse", {"use_sequence_length": "1"},
     {"data": (4, 2, 2), "sequence_length": _ints(3, 1)}, ["data"]),
    ("seqrev_nolen", "SequenceReverse", {}, {"data": (3, 2)}, ["data"]),
]


def _setup(op_name, kwargs, spec, seed=0):
    op = registry.get(op_name)
    attrs = op.parse_attrs(kwargs)
    rng = np.random.default_rng(seed)
    ins = []
    for v in spec.values():
        if isinstance(v, tuple) and v and v[0] == "values":
            ins.append(np.array(v[1], dtype=np.float64).reshape(v[2]))
        else:
            ins.append(rng.standard_normal(v))
    return op, attrs, ins


def _forward(op, attrs, ins, is_train=True):
    ctx = OpContext(is_train=is_train, rng=np.random.default_rng(0))
    return op.forward(attrs, [x.copy() for x in ins], ctx), ctx


@pytest.mark.parametrize("cid, op_name, kwargs, spec, wrt", CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_finite_differences(cid, op_name, kwargs, spec, wrt):
    op, attrs, ins = _setup(op_name, kwargs, spec)
    names = list(spec)
    outs, ctx = _forward(op, attrs, ins)
    rng = np.random.default_rng(1)
    heads = [rng.standard_normal(np.shape(o)) for o in outs]

    def loss(values):
        got, _ = _forward(op, attrs, values)
        return sum(float(np.sum(np.asarray(o, np.float64) * h)) for o, h in zip(got, heads))

    grads = op.backward(attrs, heads, ins, outs, ctx)
    assert len(grads) == len(ins)
    for k, name in enumerate(names):
        if name not in wrt:
            assert grads[k] is None, f"{name} is an index input and gets no gradient"
            continue
        x = ins[k]
        numeric = np.zeros_like(x)
        for j in np.ndindex(x.shape):
            plus, minus = [v.copy() for v in ins], [v.copy() for v in ins]
            plus[k][j] += EPS
            minus[k][j] -= EPS
            numeric[j] = (loss(plus) - loss(minus)) / (2 * EPS)
        assert grads[k].shape == x.shape and grads[k].dtype == np.float64, name
        np.testing.assert_allclose(grads[k], numeric, rtol=RTOL, atol=ATOL, err_msg=name)


# Operators with no gradient at all: integer-valued results, and values independent of x.
NO_GRAD = [
    ("argmax", {"axis": "1"}, {"data": (2, 3)}),
    ("argmin", {}, {"data": (2, 3)}),
    ("argsort", {"is_ascend": "False"}, {"data": (2, 3)}),
    ("topk", {"k": "2"}, {"data": (2, 3)}),
    ("topk", {"k": "2", "ret_typ": "mask"}, {"data": (2, 3)}),
    ("one_hot", {"depth": "3"}, {"indices": _ints(0, 2, 1)}),
    ("zeros_like", {}, {"data": (2, 3)}),
    ("ones_like", {}, {"data": (2, 3)}),
    ("_zeros", {"shape": "(2,)"}, {}),
    ("_arange", {"start": "3"}, {}),
]


@pytest.mark.parametrize("op_name, kwargs, spec", NO_GRAD, ids=[f"{c[0]}-{i}" for i, c in
                                                                 enumerate(NO_GRAD)])
def test_non_differentiable_ops_give_no_gradient(op_name, kwargs, spec):
    op, attrs, ins = _setup(op_name, kwargs, spec)
    outs, ctx = _forward(op, attrs, ins)
    grads = op.backward(attrs, [np.ones_like(o) for o in outs], ins, outs, ctx)
    assert grads == [None] * len(ins)


@pytest.mark.parametrize("cid, op_name, kwargs, spec, wrt", CASES, ids=[c[0] for c in CASES])
def test_kernels_never_write_their_inputs(cid, op_name, kwargs, spec, wrt):
    op, attrs, ins = _setup(op_name, kwargs, spec)
    before = [x.copy() for x in ins]
    ctx = OpContext(is_train=True, rng=np.random.default_rng(0))
    outs = op.forward(attrs, ins, ctx)
    op.backward(attrs, [np.ones_like(o) for o in outs], ins, outs, ctx)
    for x, b in zip(ins, before):
        np.testing.assert_array_equal(x, b)


@pytest.mark.parametrize("op_name, kwargs", [
    ("_copy", {}), ("Cast", {"dtype": "float64"}), ("broadcast_to", {"shape": "(2,3)"}),
    ("broadcast_axis", {"axis": "(0,)", "size": "(2,)"}), ("clip", {"a_min": "0",
                                                                    "a_max": "1"}),
])
def test_fresh_results_do_not_alias_the_input(op_name, kwargs):
    op = registry.get(op_name)
    x = np.arange(3.0).reshape(1, 3)
    (out,) = op.forward(op.parse_attrs(kwargs), [x], OpContext())
    assert out.flags.writeable and not np.shares_memory(out, x)


def test_clip_reuses_a_dead_input_only_in_inference():
    op = registry.get("clip")
    attrs = op.parse_attrs({"a_min": "-1", "a_max": "1"})
    x = np.array([-3.0, 0.5, 2.0])
    ctx = OpContext(is_train=False)
    ctx.inplace = (0,)
    (out,) = op.forward(attrs, [x], ctx)
    assert out is x and x.tolist() == [-1.0, 0.5, 1.0]
    y = np.array([-3.0, 0.5, 2.0])
    ctx = OpContext(is_train=True)
    ctx.inplace = (0,)
    (out,) = op.forward(attrs, [y], ctx)
    assert out is not y and y.tolist() == [-3.0, 0.5, 2.0]


def _run(op_name, kwargs, *ins):
    op = registry.get(op_name)
    return op.forward(op.parse_attrs(kwargs), list(ins), OpContext())


def test_index_truncation_and_modes_match_mxnet():
    # Values from MXNet 1.9.1 (mx.nd.take / pick / one_hot with fractional indices).
    a = np.arange(12.0).reshape(4, 3)
    idx = np.array([-1.7, 0.5, 3.9, 5, -5])
    assert _run("take", {"mode": "wrap"}, a, idx)[0][:, 0].tolist() == [9, 0, 9, 3, 9]
    assert _run("take", {"mode": "clip"}, a, idx)[0][:, 0].tolist() == [0, 0, 9, 9, 0]
    assert _run("take", {"mode": "raise"}, a, np.array([0.5, 2.0]))[0][:, 0].tolist() == [0, 6]
    oh = _run("one_hot", {"depth": "4"}, np.array([-1, 0.6, 2.9, 3, 5, -0.5]))[0]
    assert oh.argmax(1).tolist() == [0, 0, 2, 3, 0, 0] and oh.sum(1).tolist() == [0, 1, 1, 1,
                                                                                  0, 1]
    got = _run("pick", {"axis": "1", "mode": "wrap"}, a, np.array([-1.7, 0.5, 5.9, -4]))[0]
    assert got.tolist() == [2, 3, 8, 11]


def test_sort_family_is_stable_in_both_directions():
    x = np.array([[1.0, 3, 3, 2, 3, 1]])
    assert _run("argsort", {"is_ascend": "False"}, x)[0].tolist() == [[1, 2, 4, 3, 0, 5]]
    assert _run("topk", {"k": "3"}, x)[0].tolist() == [[1, 2, 4]]
    assert _run("topk", {"k": "3", "is_ascend": "True"}, x)[0].tolist() == [[0, 5, 3]]
    assert _run("topk", {"k": "3", "ret_typ": "mask"}, x)[0].tolist() == [[0, 1, 1, 0, 1, 0]]
    assert _run("argmax", {"axis": "1"}, x)[0].tolist() == [1.0]


def test_cast_wraps_like_cpp():
    x = np.array([-1.7, 2.5, 300, -200], dtype=np.float32)
    assert _run("Cast", {"dtype": "uint8"}, x)[0].tolist() == [255, 2, 44, 56]
    assert _run("Cast", {"dtype": "int8"}, x)[0].tolist() == [-1, 2, 44, 56]


def test_sequence_ops_truncate_lengths():
    d = np.arange(24.0).reshape(4, 2, 3)
    n = np.array([2.7, 0.0])
    last = _run("SequenceLast", {"use_sequence_length": "1"}, d, n)[0]
    assert last[0].tolist() == [6, 7, 8]
    rev = _run("SequenceReverse", {"use_sequence_length": "1"}, d, n)[0]
    assert rev[:, 0, 0].tolist() == [6, 0, 12, 18] and rev[:, 1, 0].tolist() == [3, 9, 15, 21]
    mask = _run("SequenceMask", {"use_sequence_length": "1", "value": "-1"}, d, n)[0]
    assert mask[:, 0, 0].tolist() == [0, 6, -1, -1] and (mask[:, 1] == -1).all()


def test_empty_slice_is_an_empty_array():
    # MXNet 1.9.1: slice(x, begin=(1,), end=(1,)) on a (4, 3) input gives a (0, 3) array.
    op = registry.get("slice")
    attrs = op.parse_attrs({"begin": "(1,)", "end": "(1,)"})
    x = np.ones((4, 3))
    (out,) = op.forward(attrs, [x], OpContext())
    assert out.shape == (0, 3)
    (g,) = op.backward(attrs, [out], [x], [out], OpContext())
    assert g.shape == (4, 3) and not g.any()


@pytest.mark.parametrize("op_name, kwargs, ins, match", [
    ("take", {"mode": "raise"}, [np.zeros((4, 3)), np.array([3.5])], "out of bounds"),
    ("pick", {"axis": "None"}, [np.zeros((4, 3)), np.array([1.0])], "axis=None"),
    ("reverse", {"axis": "-1"}, [np.zeros((2, 3))], "axis -1"),
    ("Reshape", {"shape": "(4,4)"}, [np.zeros((2, 3))], "Reshape"),
    ("topk", {"k": "5"}, [np.zeros((2, 3))], "k=5"),
    ("SliceChannel", {"num_outputs": "2"}, [np.zeros((2, 3))], "evenly"),
])
def test_refusals_are_mxnet_errors(op_name, kwargs, ins, match):
    with pytest.raises(MXNetError, match=match):
        _run(op_name, kwargs, *ins)
