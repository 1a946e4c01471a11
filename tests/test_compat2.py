"""What MXNet 1.9.1's test_random.py, test_optimizer.py, test_contrib_control_flow.py,
test_io.py and test_image.py need of mxlite, on small cases; MXNet's answers recorded by
tests/fixtures/gen_compat2.py into tests/data/compat2/cases.json."""

from __future__ import annotations

import json
import os
import pathlib
import sys

import numpy as np
import pytest

import mxlite as mx
from mxlite import test_utils as tu
from mxlite.base import MXNetError

DATA = pathlib.Path(__file__).parent / "data" / "compat2" / "cases.json"
sys.path.insert(0, str(pathlib.Path(__file__).parent / "fixtures"))
from profiler_cases import event_and_frame  # noqa: E402


@pytest.fixture(scope="module")
def oracle() -> dict:
    return json.loads(DATA.read_text())


def _draws(seed: int) -> np.ndarray:
    mx.random.seed(seed)
    return mx.nd.random.uniform(shape=(4,)).asnumpy()


# -- mx.random.seed ---------------------------------------------------------------------------


def test_seed_taken_modulo_2_32(oracle):
    assert oracle["seed_wrap"] == {"negative": True, "above_2_32": True}
    np.testing.assert_array_equal(_draws(-5), _draws(2 ** 32 - 5))
    np.testing.assert_array_equal(_draws(2 ** 32 + 7), _draws(7))
    assert not np.array_equal(_draws(7), _draws(8))
    with pytest.raises(MXNetError, match="seed_state must be an int"):
        mx.random.seed(1.5)


# -- symbols: randn's unknown shape, keywords of operators without inputs ------------------------


def test_sym_randn_shape_is_unknown(oracle):
    want = oracle["randn_sym"]
    r = mx.sym.random.randn(loc=10, scale=2, dtype="float32", data=mx.sym.ones((2, 2)))
    node = json.loads(r.tojson())["nodes"][-1]
    assert r.list_arguments() == want["arguments"] == []
    assert node["op"] == want["op"]
    assert node["attrs"] == want["attrs"]
    assert [list(s) for s in r.infer_shape_partial()[1]] == want["partial_out"]
    y = r + mx.sym.var("X")
    _, outs, _ = y.infer_shape(X=(3, 4))
    assert [list(s) for s in outs] == want["infer_out"] == [[3, 4]]
    # bound, the sampler draws at the inferred shape: twelve distinct values, not one
    ex = y.bind(mx.cpu(), {"X": mx.nd.zeros((3, 4))})
    mx.random.seed(3)
    out = ex.forward()[0].asnumpy()
    assert out.shape == (3, 4) and len(np.unique(out)) == 12
    assert abs(out.mean() - 10) < 3


def test_symbol_keywords_ignored_without_inputs(oracle):
    v = mx.sym.var("v")
    s = mx.sym.random.normal(shape=(2, 2), data=v)
    assert s.list_arguments() == oracle["kwargs_dropped"] == []
    # an operator with inputs still refuses an unknown keyword
    with pytest.raises(MXNetError, match="keyword argument name"):
        mx.sym.relu(dat=v)


# -- mx.contrib.autograd ------------------------------------------------------------------------


def test_contrib_autograd(oracle):
    want = oracle["contrib_autograd"]
    x = mx.nd.array(want["x"])
    g, loss = mx.contrib.autograd.grad_and_loss(lambda a: a * a * 3 + a)(x)
    np.testing.assert_allclose(g[0].asnumpy(), want["grad"], rtol=1e-6)
    np.testing.assert_allclose(loss.asnumpy(), want["loss"], rtol=1e-6)
    g2 = mx.contrib.autograd.grad(lambda a, b: a * b * b, argnum=1)(x, x + 1)
    np.testing.assert_allclose(g2[0].asnumpy(), want["grad_b"], rtol=1e-6)
    np.testing.assert_allclose(g[0].asnumpy(), want["grad_a_after"], rtol=1e-6)
    assert not mx.autograd.is_recording() and not mx.autograd.is_training()
    with mx.contrib.autograd.train_section():
        assert mx.autograd.is_recording() and mx.autograd.is_training()
        with mx.contrib.autograd.test_section():
            assert not mx.autograd.is_recording() and not mx.autograd.is_training()
    assert not mx.autograd.is_recording()


# -- optimizers: aggregated (list) updates ----------------------------------------------------


def test_lamb_update_multi_precision_lists(oracle):
    want = oracle["lamb_multi"]
    opt = mx.optimizer.LAMB(learning_rate=0.01, wd=0.03, clip_gradient=0.5, rescale_grad=0.8)
    ws = [mx.nd.array(w) for w in want["w0"]]
    states = [opt.create_state_multi_precision(i, w) for i, w in enumerate(ws)]
    for step in want["grads"]:
        opt.update_multi_precision([0, 1], ws, [mx.nd.array(g) for g in step], states)
    for i in range(2):
        np.testing.assert_allclose(ws[i].asnumpy(), want["w"][i], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(states[i][0].asnumpy(), want["mean"][i], rtol=1e-5,
                                   atol=1e-7)
        np.testing.assert_allclose(states[i][1].asnumpy(), want["var"][i], rtol=1e-5,
                                   atol=1e-8)
    with pytest.raises(ValueError):
        opt.update_multi_precision([0, 1], ws[:1], [mx.nd.array(want["w0"][0])], states[:1])


# -- control flow ----------------------------------------------------------------------------


def test_foreach_unknown_steps_and_unused_state(oracle):
    data = mx.sym.var("data", shape=(0, 3, 4))
    res, st = mx.sym.contrib.foreach(lambda d, s: (d + s[0], [s[0] * 2]), data,
                                     [mx.sym.var("state")])
    a, o, _ = mx.sym.Group([res] + st).infer_shape_partial()
    assert [list(s) for s in a] == oracle["foreach_unknown"]["arg"]
    assert [list(s) for s in o] == oracle["foreach_unknown"]["out"] == [[0, 3, 4], [3, 4]]
    want = oracle["foreach_unused_state"]
    assert want["type"] == "AssertionError"
    with pytest.raises(AssertionError, match=want["message"]) as err:
        mx.sym.contrib.foreach(lambda d, s: (d, [mx.sym.var("free")]), data,
                               [mx.sym.var("state")])
    assert isinstance(err.value, MXNetError)


def test_img_alias(oracle):
    assert oracle["img_alias"] is True
    assert mx.img is mx.image


# -- test_utils: statistical checks, local datasets ------------------------------------------


def test_gen_buckets_probs_with_ppf():
    buckets, probs = tu.gen_buckets_probs_with_ppf(lambda p: 4 * p - 2, 4)
    assert buckets == [(-2.0, -1.0), (-1.0, 0.0), (0.0, 1.0), (1.0, 2.0)]
    assert probs == [0.25] * 4


def test_chi_square_check_counts():
    # continuous: a sample in the gap before a bucket counts for that bucket, as MXNet's does
    samples = np.array([-5.0, 0.1, 0.2, 0.5, 1.5, 2.5, 2.6, 9.0])
    p, obs, exp = tu.chi_square_check(lambda n: samples, [(0.0, 1.0), (2.0, 3.0)], [0.5, 0.5],
                                      nsamples=8)
    np.testing.assert_array_equal(obs, [4, 3])
    np.testing.assert_array_equal(exp, [4, 4])
    from scipy import stats
    assert p == pytest.approx(stats.chi2.sf(0.25, 1))
    # discrete
    p, obs, exp = tu.chi_square_check(lambda n: np.array([0, 1, 1, 2, 2, 2, 5]), [0, 1, 2, 3],
                                      [0.25] * 4, nsamples=7)
    np.testing.assert_array_equal(obs, [1, 2, 3, 0])
    np.testing.assert_array_equal(exp, [1, 1, 1, 1])
    assert p == pytest.approx(stats.chi2.sf(0 + 1 + 4 + 1, 3))


def test_verify_generator_and_moment_checks():
    rng = np.random.default_rng(0)
    buckets, probs = tu.gen_buckets_probs_with_ppf(lambda p: p, 5)
    ps = tu.verify_generator(lambda n: rng.uniform(size=n), buckets, probs, nsamples=20000,
                             nrepeat=3)
    assert len(ps) == 3
    with pytest.raises(AssertionError, match="Generator test fails"):
        tu.verify_generator(lambda n: rng.uniform(size=n) ** 2, buckets, probs,
                            nsamples=20000, nrepeat=3)
    assert tu.mean_check(lambda n: rng.normal(1, 2, n), 1, 2, nsamples=100000)
    assert not tu.mean_check(lambda n: rng.normal(1.5, 2, n), 1, 2, nsamples=100000)
    assert tu.var_check(lambda n: rng.normal(0, 2, n), 2, nsamples=100000)
    assert not tu.var_check(lambda n: rng.normal(0, 3, n), 2, nsamples=100000)


def test_download_and_datasets_use_local_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MXNetError, match="does not download"):
        tu.download("http://example.com/a/file.bin", dirname="sub")
    assert os.path.isdir("sub")
    (tmp_path / "sub" / "file.bin").write_bytes(b"x")
    assert tu.download("http://example.com/a/file.bin", dirname="sub") == \
        os.path.join("sub", "file.bin")
    with pytest.raises(MXNetError, match="mnist.zip"):
        tu.get_mnist_ubyte()
    import zipfile
    with zipfile.ZipFile(tmp_path / "data" / "mnist.zip", "w") as zf:
        for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                     "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
            zf.writestr(name, b"")
    tu.get_mnist_ubyte()
    assert (tmp_path / "data" / "t10k-labels-idx1-ubyte").exists()
    assert tu.rnd is np.random


# -- profiler ----------------------------------------------------------------------------------


def test_profiler_json_sections_and_categories(oracle, tmp_path):
    want = oracle["profiler_json"]
    try:
        doc, trace = event_and_frame(mx, str(tmp_path / "profile.json"))
        assert sorted(doc) == want["keys"] == ["Memory", "Time", "Unit"]
        assert doc["Unit"] == want["unit"] and doc["Memory"] == want["memory"]
        assert sorted(doc["Time"]) == want["time_categories"]
        assert sorted(doc["Time"]["event"]["ev"]) == want["event_stats"]
        assert doc["Time"]["event"]["ev"]["Count"] == 1
        assert sorted({e["cat"] for e in trace if e.get("ph") != "M"}) == \
            want["trace_categories"]
    finally:
        mx.profiler.dumps(reset=True)
        mx.profiler.set_config(profile_memory=True, aggregate_stats=False,
                               filename="profile.json")


# -- io: C++-style iterators ---------------------------------------------------------------------


def test_libsvm_getdata_is_the_array(oracle, tmp_path):
    want = oracle["libsvm_getdata"]
    path = tmp_path / "a.libsvm"
    path.write_text("1 0:0.5 2:1.2\n-2 1:0.1\n3 0:-1 1:2 2:3\n")
    it = mx.io.LibSVMIter(data_libsvm=str(path), data_shape=(3,), batch_size=2)
    (row,) = want["rows"]
    assert it.iter_next()
    d, lab = it.getdata(), it.getlabel()
    assert type(d).__name__ == row["data_type"] == "CSRNDArray" and d.stype == row["stype"]
    assert type(lab).__name__ == row["label_type"] == "NDArray"
    np.testing.assert_allclose(d.asnumpy(), row["data"], rtol=1e-6)
    np.testing.assert_allclose(lab.asnumpy(), row["label"])
    assert it.getpad() == row["pad"]
    it.reset()
    assert type(it.next().data).__name__ == want["batch_data_type"] == "list"


def test_group_adagrad(oracle):
    want = oracle["group_adagrad"]
    rsp = mx.nd.sparse.row_sparse_array(
        (np.array(want["rsp_values"], np.float32), np.array(want["rsp_rows"])), shape=(4, 3))
    for run in want["runs"].values():
        opt = mx.optimizer.contrib.GroupAdaGrad(learning_rate=0.1, **run["kwargs"])
        w = mx.nd.array(want["w0"])
        st = opt.create_state(0, w)
        assert list(st.shape) == run["state_shape"] and str(st.dtype) == run["state_dtype"]
        opt.update(0, w, mx.nd.array(want["dense_grad"]), st)
        opt.update(0, w, rsp, st)
        np.testing.assert_allclose(w.asnumpy(), run["w"], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(st.asnumpy(), run["history"], rtol=1e-5, atol=1e-8)
    assert isinstance(mx.optimizer.create("groupadagrad"), mx.optimizer.contrib.GroupAdaGrad)
    with pytest.raises(MXNetError, match="Weight decay is not supported"):
        opt = mx.optimizer.contrib.GroupAdaGrad(wd=0.1)
        w = mx.nd.ones((2, 2))
        opt.update(0, w, w, opt.create_state(0, w))


def test_profiler_run_clears_a_pause():
    # MXNet's Profiler::SetState: 'run' un-pauses, so a session left paused does not
    # silence the next one
    mx.profiler.set_config(aggregate_stats=True, profile_all=True)
    mx.profiler.dumps(reset=True)
    mx.profiler.set_state("run")
    mx.profiler.pause()
    mx.profiler.set_state("stop")
    mx.profiler.set_state("run")
    try:
        mx.nd.sqrt(mx.nd.ones((2, 2))).wait_to_read()
        mx.profiler.pause()
        mx.nd.exp(mx.nd.ones((2, 2))).wait_to_read()
        mx.profiler.resume()
        mx.nd.sqrt(mx.nd.ones((2, 2))).wait_to_read()
        ops = json.loads(mx.profiler.dumps(format="json"))["Time"]["operator"]
        assert ops["sqrt"]["Count"] == 2 and "exp" not in ops
    finally:
        mx.profiler.set_state("stop")
        mx.profiler.dumps(reset=True)
        mx.profiler.set_config(aggregate_stats=False, profile_all=False)
