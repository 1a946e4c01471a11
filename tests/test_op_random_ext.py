"""The random operators beyond uniform/normal/randint: ``_random_<dist>``, ``_random_*_like``,
``_sample_*`` (one block per parameter element), ``_sample_multinomial``,
``_sample_unique_zipfian`` and ``_shuffle``, through mx.nd, mx.nd.random and mx.sym.random.

Values cannot match MXNet's generator: the tests pin shapes and dtypes (as MXNet 1.9.1 gives
them), parameter checks, seeded repeatability and the distributions' moments."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

nd = mx.nd
N = 40000
DATA = pathlib.Path(__file__).parent / "data" / "ops" / "linalg"
PDF_CASES = [c for c in json.loads((DATA / "cases.json").read_text())["cases"]
             if c["func"].startswith("random_pdf")]
ARRAYS = np.load(DATA / "data.npz", allow_pickle=False)


def _moments(x) -> tuple[float, float]:
    v = x.asnumpy().astype(np.float64)
    return v.mean(), v.var()


# dist function, args, expected mean, expected variance
MOMENTS = [
    (lambda s: nd.random.gamma(2.0, 3.0, shape=s), 6.0, 18.0),
    (lambda s: nd.random_gamma(alpha=0.5, beta=1.0, shape=s), 0.5, 0.5),
    (lambda s: nd.random.exponential(2.0, shape=s), 2.0, 4.0),  # scale 2
    (lambda s: nd.random_exponential(lam=4.0, shape=s), 0.25, 0.0625),  # rate 4
    (lambda s: nd.random.poisson(3.5, shape=s), 3.5, 3.5),
    (lambda s: nd.random.negative_binomial(3, 0.4, shape=s), 4.5, 11.25),
    (lambda s: nd.random.generalized_negative_binomial(2.0, 0.5, shape=s), 2.0, 4.0),
    (lambda s: nd.random.generalized_negative_binomial(2.0, 0.0, shape=s), 2.0, 2.0),
    (lambda s: nd.random.uniform(-1, 3, shape=s), 1.0, 16 / 12),
    (lambda s: nd.random.normal(5, 0.5, shape=s), 5.0, 0.25),
]


@pytest.mark.parametrize("i", range(len(MOMENTS)))
def test_moments(i):
    mx.random.seed(100 + i)
    fn, mean, var = MOMENTS[i]
    x = fn((N,))
    assert x.shape == (N,) and x.dtype == np.float32
    m, v = _moments(x)
    # four standard errors of the mean; 10% on the variance
    assert abs(m - mean) < 4 * np.sqrt(var / N), (m, mean)
    assert abs(v - var) < 0.1 * var, (v, var)


def test_per_element_parameters():
    mx.random.seed(5)
    lam = nd.array([1.0, 10.0, 100.0])
    x = nd.random.poisson(lam, shape=(N // 4,))
    assert x.shape == (3, N // 4) and x.dtype == np.float32
    np.testing.assert_allclose(x.asnumpy().mean(axis=1), [1, 10, 100], rtol=0.03)
    g = nd.sample_gamma(nd.array([[1.0, 4.0]]), nd.array([[2.0, 0.5]]), shape=(2, N // 8))
    assert g.shape == (1, 2, 2, N // 8)
    np.testing.assert_allclose(g.asnumpy().mean(axis=(2, 3)), [[2.0, 2.0]], rtol=0.05)
    e = nd.random.exponential(nd.array([0.5, 4.0]), shape=N // 4)  # scales
    np.testing.assert_allclose(e.asnumpy().mean(axis=1), [0.5, 4.0], rtol=0.05)
    nb = nd.sample_negative_binomial(nd.array([2.0]), nd.array([0.5]), shape=(N // 4,))
    assert abs(nb.asnumpy().mean() - 2.0) < 0.1
    gnb = nd.sample_generalized_negative_binomial(nd.array([3.0]), nd.array([0.2]),
                                                  shape=(N // 4,))
    assert abs(gnb.asnumpy().mean() - 3.0) < 0.15
    u = nd.sample_uniform(nd.array([0.0, 10.0]), nd.array([1.0, 12.0]), shape=(100,))
    vals = u.asnumpy()
    assert (vals[0] < 1).all() and (vals[1] >= 10).all() and (vals[1] < 12).all()
    n = nd.sample_normal(nd.array([0.0, 10.0]), nd.array([1.0, 0.1]), shape=(N // 4,))
    np.testing.assert_allclose(n.asnumpy().std(axis=1), [1.0, 0.1], rtol=0.05)


@pytest.mark.parametrize("make, shapes, dtypes", [
    # what MXNet 1.9.1 gives for the same calls
    (lambda: nd.sample_normal(nd.array([0, 1], dtype="float64"),
                              nd.array([1, 1], dtype="float64"), shape=(3,)),
     [(2, 3)], ["float32"]),
    (lambda: nd.sample_normal(nd.array([0, 1], dtype="float64"),
                              nd.array([1, 1], dtype="float64"), dtype="float16"),
     [(2,)], ["float16"]),
    (lambda: nd.sample_poisson(nd.array([2, 1]), shape=(2, 2)), [(2, 2, 2)], ["float32"]),
    (lambda: nd.sample_exponential(nd.array([2, 1]), shape=(2, 2)), [(2, 2, 2)],
     ["float32"]),
    (lambda: nd.sample_multinomial(nd.array([[0.2, 0.8], [1, 0]]), shape=(3,),
                                   get_prob=True), [(2, 3), (2, 3)], ["int32", "float32"]),
    (lambda: nd.sample_multinomial(nd.array([0.2, 0.8])), [(1,)], ["int32"]),
    (lambda: nd.sample_multinomial(nd.array([0.2, 0.8], dtype="float64"), dtype="float64",
                                   get_prob=True), [(1,), (1,)], ["float64", "float64"]),
    (lambda: nd.random.uniform_like(nd.ones((2, 3), dtype="float64"), low=2, high=3),
     [(2, 3)], ["float64"]),
    (lambda: nd._sample_unique_zipfian(range_max=10, shape=(2, 3)), [(2, 3), (2,)],
     ["int64", "int64"]),
    (lambda: nd.random_gamma(shape=2, dtype="float16"), [(2,)], ["float16"]),
    (lambda: nd.random.gamma(nd.array([1.0, 2.0]), nd.array([1.0, 1.0]), shape=3), [(2, 3)],
     ["float32"]),
    (lambda: nd.random.negative_binomial(2, 0.5, shape=3), [(3,)], ["float32"]),
    (lambda: nd.random.multinomial(nd.array([0.5, 0.5]), shape=3), [(3,)], ["int32"]),
    (lambda: nd.random.poisson(2.0), [(1,)], ["float32"]),
])
def test_shapes_and_dtypes_as_mxnet(make, shapes, dtypes):
    out = make()
    outs = out if isinstance(out, list) else [out]
    assert [o.shape for o in outs] == shapes
    assert [np.dtype(o.dtype).name for o in outs] == dtypes


@pytest.mark.parametrize("name", ["uniform", "normal", "gamma", "exponential", "poisson",
                                  "negative_binomial", "generalized_negative_binomial"])
def test_like_operators(name):
    mx.random.seed(3)
    x = nd.zeros((4, 5), dtype="float64")
    fn = getattr(nd.random, f"{name}_like")
    y = fn(x)
    assert y.shape == (4, 5) and y.dtype == np.float64
    mx.random.seed(3)
    np.testing.assert_array_equal(getattr(nd, f"_random_{name}_like")(x).asnumpy(),
                                  y.asnumpy())
    # the data's values are unused: its gradient is zero, as MXNet's
    x.attach_grad()
    with mx.autograd.record():
        z = fn(x)
    z.backward()
    assert not x.grad.asnumpy().any()
    with pytest.raises(MXNetError, match="floating point"):
        fn(nd.zeros((2,), dtype="int32"))


def test_seed_reproducibility():
    def draw():
        return [nd.random.gamma(2, 2, shape=(5,)), nd.random.poisson(nd.array([1, 5])),
                nd.sample_multinomial(nd.array([0.1, 0.2, 0.7]), shape=(6,)),
                nd.random.negative_binomial(2, 0.3, shape=4),
                nd._sample_unique_zipfian(range_max=50, shape=(2, 5))[0],
                nd.random.shuffle(nd.arange(8))]
    mx.random.seed(11)
    a = [x.asnumpy() for x in draw()]
    mx.random.seed(11)
    b = [x.asnumpy() for x in draw()]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    mx.random.seed(12)
    assert not np.array_equal(nd.random.gamma(2, 2, shape=(5,)).asnumpy(), a[0])


def test_sample_ops_have_zero_gradients():
    mu, sigma = nd.array([0.0, 1.0]), nd.array([1.0, 2.0])
    mu.attach_grad()
    sigma.attach_grad()
    with mx.autograd.record():
        y = nd.sample_normal(mu, sigma, shape=(3,))
    y.backward()
    assert not mu.grad.asnumpy().any() and not sigma.grad.asnumpy().any()


def test_multinomial_frequencies_and_log_prob_gradient():
    mx.random.seed(2)
    p = nd.array([[0.1, 0.6, 0.3], [0.5, 0.0, 0.5]])
    idx, logp = nd.sample_multinomial(p, shape=(N // 4,), get_prob=True)
    counts = np.stack([np.bincount(r, minlength=3) for r in idx.asnumpy()]) / (N // 4)
    np.testing.assert_allclose(counts, p.asnumpy(), atol=0.02)
    np.testing.assert_allclose(logp.asnumpy(),
                               np.log(np.take_along_axis(p.asnumpy(), idx.asnumpy(), 1)),
                               rtol=1e-6)
    # MXNet's gradient of the log-probability: head / p at each drawn class, summed
    p.attach_grad()
    with mx.autograd.record():
        idx, logp = nd.sample_multinomial(p, shape=(5,), get_prob=True)
    logp.backward()
    want = np.zeros((2, 3))
    for row, cls in zip(*np.nonzero(np.ones((2, 5)))):
        c = idx.asnumpy()[row, cls]
        want[row, c] += 1 / p.asnumpy()[row, c]
    np.testing.assert_allclose(p.grad.asnumpy(), want, rtol=1e-6)


def test_zipfian_rows_are_unique_and_log_uniform():
    mx.random.seed(4)
    s, tries = nd._sample_unique_zipfian(range_max=1000, shape=(400, 20))
    v = s.asnumpy()
    assert all(len(set(r)) == 20 for r in v.tolist())
    assert v.min() >= 0 and v.max() < 1000
    assert (tries.asnumpy() >= 20).all()
    # the small classes dominate: P(c < 9) = log(10) / log(1001) = 1/3 of single draws
    assert (v < 9).mean() > 0.2
    with pytest.raises(MXNetError, match="range_max"):
        nd._sample_unique_zipfian(range_max=3, shape=(1, 5))


@pytest.mark.parametrize("call, words", [
    (lambda: nd.random_gamma(alpha=-1, shape=2), "alpha"),
    (lambda: nd.random_gamma(beta=0, shape=2), "beta"),
    (lambda: nd.random_exponential(lam=-1, shape=2), "lam"),
    (lambda: nd.random_poisson(lam=-1, shape=2), "lam"),
    (lambda: nd.random_generalized_negative_binomial(mu=-1, shape=2), "mu"),
    (lambda: nd.random_negative_binomial(k=2, p=2, shape=2), "p"),
    (lambda: nd.random_uniform(low=2, high=1, shape=2), "low"),
    (lambda: nd.random_normal(scale=-1, shape=2), "scale"),
    (lambda: nd.random_generalized_negative_binomial(alpha=-0.5, shape=2), "alpha=-0.5"),
    (lambda: nd.sample_normal(nd.array([0, 1]), nd.array([1, -1])), "sigma=-1"),
    (lambda: nd.sample_uniform(nd.array([0, 3]), nd.array([1, 2])), "low=3.0 > high=2.0"),
    (lambda: nd.random.poisson_like(nd.ones((2,)), lam=-1), "lam"),
    (lambda: nd.sample_gamma(nd.array([-1, 1]), nd.array([1, 1])), "alpha"),
    (lambda: nd.sample_normal(nd.array([0, 1]), nd.array([1, 1, 1])), "sigma"),
    (lambda: nd.random_gamma(shape=2, dtype="int32"), "dtype"),
    (lambda: nd.sample_multinomial(nd.array([0.5, 0.5]), dtype="int64"), "dtype"),
    (lambda: nd.random.gamma(1.0, nd.array([1.0])), "all numbers or all NDArrays"),
    (lambda: nd.random.gamma(nd.array([1.0]), 1.0), "same type"),
])
def test_bad_parameters_are_named(call, words):
    with pytest.raises(MXNetError, match=words):
        call()


def test_symbol_frontend():
    a, b = mx.sym.var("a"), mx.sym.var("b")
    s = mx.sym.random.gamma(a, b, shape=(4,))
    assert s.name.startswith("_sample_gamma")
    assert s.infer_shape(a=(2, 3), b=(2, 3))[1] == [(2, 3, 4)]
    assert s.infer_type(a=np.float64, b=np.float64)[1] == [np.float32]
    s = mx.sym.random.exponential(4.0, shape=(3,))
    assert list(s.attr_dict().values()) == [{"lam": "0.25", "shape": "(3,)"}]
    assert mx.sym.random.multinomial(a).list_outputs()[1].endswith("output1")
    s = mx.sym.random.poisson_like(a, lam=2.0)
    assert s.infer_shape(a=(2, 5))[1] == [(2, 5)]
    exe = (mx.sym.random.uniform(a, b, shape=(1000,)) * 1).simple_bind(mx.cpu(), a=(2,), b=(2,))
    out = exe.forward(a=nd.array([0, 5]), b=nd.array([1, 6]))[0].asnumpy()
    assert out.shape == (2, 1000) and (out[1] >= 5).all() and (out[0] < 1).all()


def test_json_round_trip_of_random_nodes():
    s = mx.sym.random.negative_binomial(k=3, p=0.25, shape=(2, 2), name="nb")
    s2 = mx.sym.load_json(s.tojson())
    assert s2.attr_dict() == {"nb": {"k": "3", "p": "0.25", "shape": "(2, 2)"}}
    assert s2.infer_shape()[1] == [(2, 2)]


# ----------------------------------------------------------------------------------------
# Densities: deterministic, so MXNet 1.9.1's values and gradients (tests/data/ops/linalg,
# from tests/fixtures/gen_linalg_contrib.py).


@pytest.mark.parametrize("case", PDF_CASES, ids=lambda c: c["name"])
def test_pdf_matches_mxnet(case):
    name = case["name"]
    ins = {k: nd.array(ARRAYS[f"{name}/in/{k}"], dtype="float64") for k in case["inputs"]}
    for v in ins.values():
        v.attach_grad()
    with mx.autograd.record():
        out = getattr(nd, case["func"])(**ins, **case["kwargs"])
    # MXNet's normal density and digamma are a few 1e-8 / 1e-7 off the exact values
    np.testing.assert_allclose(out.asnumpy(), ARRAYS[f"{name}/out0"], rtol=1e-7, atol=1e-12)
    out.backward(nd.array(ARRAYS[f"{name}/head0"], dtype="float64"))
    for k in case["grads"]:
        np.testing.assert_allclose(ins[k].grad.asnumpy(), ARRAYS[f"{name}/grad/{k}"],
                                   rtol=1e-5, atol=1e-6, err_msg=k)


def test_pdf_shapes_and_refusals():
    s = mx.sym.random_pdf_dirichlet(mx.sym.var("x"), mx.sym.var("a"))
    assert s.infer_shape(x=(2, 4, 3), a=(2, 3))[1] == [(2, 4)]
    with pytest.raises(MXNetError, match="sample"):
        nd.random_pdf_normal(nd.ones((3,)), nd.ones((1,)), nd.ones((1,)))
    with pytest.raises(MXNetError, match="sigma"):
        nd.random_pdf_normal(nd.ones((2, 3)), nd.ones((2,)), nd.ones((3,)))
