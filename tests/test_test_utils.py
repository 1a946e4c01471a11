"""``mx.test_utils``: tolerances, comparisons and the symbolic checks behave as MXNet's."""

from __future__ import annotations

import os

import numpy as np
import pytest

import mxlite as mx
from mxlite import test_utils as tu


def fc_case():
    rng = np.random.RandomState(0)
    sym = mx.sym.FullyConnected(mx.sym.Variable("x"), num_hidden=3, name="fc")
    loc = {"x": rng.randn(2, 4), "fc_weight": rng.randn(3, 4), "fc_bias": rng.randn(3)}
    og = rng.randn(2, 3)
    grads = {"x": og @ loc["fc_weight"], "fc_weight": og.T @ loc["x"], "fc_bias": og.sum(0)}
    return sym, loc, og, grads


def test_default_tolerances_follow_dtype():
    assert tu.get_tols(np.float16(1), np.float32(1), None, None) == (1e-2, 1e-1)
    assert tu.get_tols(np.zeros(1, np.float64), np.zeros(1, np.float64), None, None) == \
        (1e-5, 1e-20)
    assert tu.get_tols(np.zeros(1, np.int32), np.zeros(1, np.int32), 0.5, {}) == (0.5, 0)
    assert tu.default_numeric_eps()[np.dtype(np.float32)] == 1 / 512


def test_assert_almost_equal_reports_where():
    tu.assert_almost_equal(mx.nd.array([1.0, 2.0]), np.array([1.0, 2.00001], np.float32))
    with pytest.raises(AssertionError) as e:
        tu.assert_almost_equal(np.array([1., 2., 3.]), np.array([1., 2.5, 3.]),
                               names=("ours", "theirs"))
    msg = str(e.value)
    assert "exceeds tolerance rtol=1.000000e-05, atol=1.000000e-20 (mismatch 33.333333%)" in msg
    assert "Location of maximum error: (1,), ours=2.00000000, theirs=2.50000000" in msg
    tu.assert_almost_equal_with_err(np.array([1., 2., 3., 4.]), np.array([1., 2., 3., 9.]),
                                    etol=0.3)
    with pytest.raises(AssertionError):
        tu.assert_almost_equal_with_err(np.arange(4.), np.array([0., 9., 9., 3.]), etol=0.3)
    tu.assert_almost_equal_ignore_nan(np.array([np.nan, 1.0]), np.array([5.0, 1.0]))
    assert tu.same(mx.nd.ones(3), np.ones(3)) and not tu.almost_equal(np.ones(2), np.zeros(2))


def test_symbolic_checks_pass_on_right_answers_and_fail_on_wrong():
    sym, loc, og, grads = fc_case()
    expected = loc["x"] @ loc["fc_weight"].T + loc["fc_bias"]
    out = tu.check_symbolic_forward(sym, loc, [expected], rtol=1e-4, atol=1e-4)
    assert out[0].shape == (2, 3)
    for req in ("write", "add"):
        got = tu.check_symbolic_backward(sym, loc, [og], grads, rtol=1e-4, atol=1e-4,
                                         grad_req=req)
        assert set(got) == {"x", "fc_weight", "fc_bias"}
    tu.check_symbolic_backward(sym, loc, [og], grads, rtol=1e-4, atol=1e-4,
                               grad_req={"x": "null", "fc_weight": "write",
                                         "fc_bias": "write"})
    with pytest.raises(AssertionError):
        tu.check_symbolic_forward(sym, loc, [expected + 1], rtol=1e-4, atol=1e-4)
    with pytest.raises(AssertionError):
        tu.check_symbolic_backward(sym, loc, [og], {**grads, "fc_bias": grads["fc_bias"] + 1},
                                   rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="do not match"):
        tu.check_symbolic_forward(sym, {"x": loc["x"]}, [expected])


def test_numeric_gradient():
    np.random.seed(1)
    sym, loc, _, _ = fc_case()
    tu.check_numeric_gradient(sym, loc, numeric_eps=1e-3, rtol=1e-2, atol=1e-3)
    tu.check_numeric_gradient(sym, loc, grad_nodes=["fc_weight"], rtol=1e-2, atol=1e-3,
                              dtype=np.float64)
    act = mx.sym.Activation(mx.sym.Variable("a"), act_type="tanh")
    tu.check_numeric_gradient(act, [np.random.randn(3, 2)], rtol=1e-2, atol=1e-3)


def test_check_consistency_across_dtypes():
    np.random.seed(2)
    sym = mx.sym.Convolution(num_filter=3, kernel=(3, 3), name="conv")
    gt = tu.check_consistency(sym, [
        {"ctx": mx.cpu(0), "conv_data": (2, 2, 6, 6), "type_dict": {"conv_data": np.float64}},
        {"ctx": mx.cpu(0), "conv_data": (2, 2, 6, 6), "type_dict": {"conv_data": np.float32}}])
    assert gt["conv_output"].shape == (2, 3, 4, 4) and gt["conv_output"].dtype == np.float64
    assert gt["conv_weight"].shape == (3, 2, 3, 3)


def test_random_data_and_shapes():
    np.random.seed(3)
    shape = tu.rand_shape_nd(4, dim=5)
    assert len(shape) == 4 and all(1 <= d <= 5 for d in shape)
    csr = tu.rand_ndarray((6, 5), "csr", density=0.5)
    rsp = tu.rand_ndarray((6, 5), "row_sparse", density=0.5)
    assert (csr.stype, rsp.stype, csr.shape) == ("csr", "row_sparse", (6, 5))
    dense = tu.rand_ndarray((2, 3))
    assert dense.dtype == np.float32 and dense.shape == (2, 3)
    power, _ = tu.rand_sparse_ndarray((5, 16), "csr", density=0.5, distribution="powerlaw")
    counts = np.diff(power.indptr.asnumpy())
    assert counts[:4].tolist() == [1, 2, 4, 8]
    assert tu.np_reduce(np.ones((2, 3, 4)), [0, 2], True, np.sum).tolist() == \
        [[[8.0], [8.0], [8.0]]]
    assert tu.collapse_sum_like(np.ones((2, 3, 4)), (3, 1)).tolist() == [[8.0]] * 3


def test_environment_and_default_context():
    with tu.environment({"MXLITE_TEST_A": "1", "MXLITE_TEST_B": None}):
        assert os.environ["MXLITE_TEST_A"] == "1"
    assert "MXLITE_TEST_A" not in os.environ
    assert tu.default_context() == mx.cpu(0)
    tu.set_default_context(mx.cpu(1))
    try:
        assert tu.default_context() == mx.cpu(1)
    finally:
        tu.set_default_context(None)
    tu.assert_exception(int, ValueError, "x")
    with pytest.raises(AssertionError):
        tu.assert_exception(int, ValueError, "1")


def test_hybridize_consistency_and_dummy_iter():
    def builder(prefix):
        net = mx.gluon.nn.HybridSequential(prefix=prefix)
        with net.name_scope():
            net.add(mx.gluon.nn.Dense(4, activation="tanh"), mx.gluon.nn.Dense(2))
        return net

    tu.check_gluon_hybridize_consistency(builder, [mx.nd.array(np.ones((3, 5)))])
    it = tu.DummyIter(mx.io.NDArrayIter(np.arange(12).reshape(6, 2), batch_size=2))
    first, second = next(it), next(it)
    assert first is second and first.data[0].shape == (2, 2)


def test_compare_optimizer():
    tu.compare_optimizer(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9),
                         mx.optimizer.SGD(learning_rate=0.1, momentum=0.9), (3, 4), np.float32)
    with pytest.raises(AssertionError):
        tu.compare_optimizer(mx.optimizer.SGD(learning_rate=0.1),
                             mx.optimizer.SGD(learning_rate=0.5), (3, 4), np.float32)
