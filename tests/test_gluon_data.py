"""gluon.data datasets, samplers and DataLoader against MXNet 1.9.1
(tests/fixtures/gen_gluon_data.py) and on their own: worker processes and threads give the
batches the main process gives, failures in workers name the sample, and workers go away."""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import time

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.gluon import data as gdata
from mxlite.gluon.data.dataloader import (
    DataLoaderTimeoutError,
    default_batchify_fn,
    default_mp_batchify_fn,
)

DOC = json.loads((DATA / "gluon" / "data" / "data.json").read_text())


def _np(batch):
    if isinstance(batch, list):
        return [_np(b) for b in batch]
    return batch.asnumpy()


def _assert_batches_equal(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if isinstance(x, list):
            _assert_batches_equal(x, y)
        else:
            assert x.dtype == y.dtype and x.shape == y.shape
            np.testing.assert_array_equal(x, y)


# ------------------------------------------------------------------------------ samplers


@pytest.mark.parametrize("key", [k for k in DOC["random_sampler"] if k.count("/") == 1])
def test_random_sampler_order_is_mxnets(key):
    seed, length = (int(v) for v in key.split("/"))
    np.random.seed(seed)
    order = list(gdata.RandomSampler(length))
    assert order == DOC["random_sampler"][key]
    assert all(isinstance(i, np.integer) for i in order)


def test_random_sampler_draws_a_new_order_each_pass():
    np.random.seed(3)
    s = gdata.RandomSampler(12)
    assert [list(s), list(s)] == DOC["random_sampler"]["3/12/two_passes"]
    assert len(s) == 12


@pytest.mark.parametrize("last", ["keep", "discard", "rollover"])
def test_batch_sampler_passes(last):
    bs = gdata.BatchSampler(gdata.SequentialSampler(10), 3, last)
    for expected in DOC["batch_sampler"][last]:
        assert len(bs) == expected["len"]
        assert list(bs) == expected["batches"]


def test_batch_sampler_refuses_bad_arguments():
    with pytest.raises(MXNetError, match="last_batch must be one of"):
        gdata.BatchSampler(gdata.SequentialSampler(4), 2, "pad")
    with pytest.raises(ValueError, match="batch_size"):
        gdata.BatchSampler(gdata.SequentialSampler(4), 0)


def test_sequential_and_filter_samplers():
    assert list(gdata.SequentialSampler(4, 3)) == [3, 4, 5, 6]
    fs = gdata.FilterSampler(lambda x: x > 2, gdata.SimpleDataset([5, 1, 3, 0]))
    assert list(fs) == [0, 2] and len(fs) == 2
    with pytest.raises(MXNetError, match="length"):
        gdata.SequentialSampler(-1)


def test_interval_sampler():
    rec = DOC["interval_sampler"]
    assert list(gdata.IntervalSampler(13, 3)) == rec["rollover"]
    assert len(gdata.IntervalSampler(13, 3)) == rec["len_rollover"] == 13
    norollover = gdata.IntervalSampler(13, 3, rollover=False)
    assert list(norollover) == rec["no_rollover"]
    # MXNet reports 13 here although it yields 5 indices; mxlite counts what it yields.
    assert rec["len_no_rollover"] == 13 and len(norollover) == 5
    with pytest.raises(MXNetError, match="interval 14 must be smaller"):
        gdata.IntervalSampler(13, 14)


# ------------------------------------------------------------------------------ datasets


def test_dataset_combinators_match_mxnet():
    rec = DOC["dataset"]
    simple = gdata.SimpleDataset(list(range(10)))
    assert [list(simple.shard(3, i)) for i in range(3)] == rec["shard_10_3"]
    eleven = gdata.SimpleDataset(list(range(11)))
    assert [list(eleven.shard(4, i)) for i in range(4)] == rec["shard_11_4"]
    two = gdata.SimpleDataset([0, 1])
    assert [list(two.shard(3, i)) for i in range(3)] == rec["shard_2_3"]
    assert list(simple.take(3)) == rec["take_3"]
    assert list(simple.take(None)) == rec["take_none"]
    assert list(simple.take(20)) == rec["take_20"]
    assert list(simple.filter(lambda x: x % 2 == 0)) == rec["filter_even"]
    assert list(simple.transform(lambda x: x * 10)) == rec["transform"]
    assert list(simple.sample(gdata.SequentialSampler(4, 3))) == rec["sample"]


def test_array_dataset_samples_match_mxnet():
    rec = DOC["dataset"]
    arr = gdata.ArrayDataset(mx.nd.arange(4), np.arange(4) * 2, [f"s{i}" for i in range(4)])
    assert len(arr) == 4
    # A 1-D NDArray is kept as numpy: its samples are numpy scalars, as in MXNet.
    assert [repr(type(v).__name__) + ":" + str(v) for v in arr[2]] == rec["array_sample"]
    first = arr.transform_first(lambda x: x + 100)
    assert [[float(first[i][0]), int(first[i][1]), first[i][2]] for i in range(4)] == \
        rec["transform_first"]
    two_d = gdata.ArrayDataset(mx.nd.arange(6).reshape(3, 2))
    item = two_d[1]
    assert type(item).__name__ == rec["array_2d_item"]["type"]
    assert item.asnumpy().tolist() == rec["array_2d_item"]["values"]


def test_array_dataset_refuses_mismatched_lengths():
    with pytest.raises(MXNetError, match=r"array\[0\] has length 3 while array\[1\] has 2"):
        gdata.ArrayDataset([1, 2, 3], np.zeros(2))
    with pytest.raises(ValueError, match="at least 1"):
        gdata.ArrayDataset()
    with pytest.raises(TypeError, match="argument 1 .int. has no length"):
        gdata.ArrayDataset([1], 5)


def test_dataset_argument_errors():
    simple = gdata.SimpleDataset([1, 2, 3])
    with pytest.raises(MXNetError, match=r"index must be in \[0, 3\)"):
        simple.shard(3, 3)
    with pytest.raises(ValueError, match="num_shards"):
        simple.shard(0, 0)
    with pytest.raises(TypeError, match="Expected gluon.data.Sampler"):
        simple.sample([0, 1])
    with pytest.raises(MXNetError, match="callable"):
        simple.transform(3)


def test_transform_lazy_false_runs_once():
    calls = []

    def fn(x):
        calls.append(x)
        return x + 1

    eager = gdata.SimpleDataset([1, 2, 3]).transform(fn, lazy=False)
    assert calls == [1, 2, 3]
    assert [eager[i] for i in range(3)] == [2, 3, 4] and calls == [1, 2, 3]
    lazy = gdata.SimpleDataset([1, 2]).transform(fn)
    assert lazy[1] == 3 and calls[-1] == 2


def test_transform_unpacks_tuples_and_transform_first_keeps_the_rest():
    ds = gdata.ArrayDataset([1, 2], [10, 20])
    assert ds.transform(lambda a, b: a + b)[1] == 22
    assert ds.transform_first(lambda a: -a)[0] == (-1, 10)
    assert gdata.SimpleDataset([5]).transform_first(lambda a: a * 2)[0] == 10


# ------------------------------------------------------------------------------ batchify


def _batchify_inputs():
    return {
        "ints": [1, 2, 3],
        "floats": [1.5, 2.0],
        "np_float32": [np.float32(1.5), np.float32(-2)],
        "np_int32_arrays": [np.arange(3, dtype=np.int32), np.arange(3, 6, dtype=np.int32)],
        "np_uint8_images": [np.full((2, 2, 1), 7, np.uint8), np.full((2, 2, 1), 9, np.uint8)],
        "tuples": [(1, 2.5), (3, 4.5)],
        "nested": [(np.float64(1), (np.int64(2), np.float32(3))),
                   (np.float64(4), (np.int64(5), np.float32(6)))],
        "ndarrays": [mx.nd.array([1, 2], dtype="int32"), mx.nd.array([3, 4], dtype="int32")],
        "ndarray_tuples": [(mx.nd.array([1.5]), 0), (mx.nd.array([2.5]), 1)],
        "bools": [True, False],
    }


def _describe(x):
    if isinstance(x, list):
        return {"type": "list", "items": [_describe(i) for i in x]}
    assert isinstance(x, mx.nd.NDArray)
    a = x.asnumpy()
    return {"type": "NDArray", "dtype": str(a.dtype), "shape": list(a.shape),
            "values": a.tolist()}


@pytest.mark.parametrize("case", sorted(DOC["batchify"]))
def test_default_batchify_matches_mxnet(case):
    inputs = _batchify_inputs()[case]
    assert _describe(default_batchify_fn(inputs)) == DOC["batchify"][case]
    shared = default_mp_batchify_fn(inputs)
    assert _describe(shared) == DOC["batchify"][case]
    first = shared[0] if isinstance(shared, list) else shared
    assert first.context == mx.Context("cpu_shared", 0)


def test_default_batchify_refuses_strings():
    with pytest.raises(MXNetError, match="dtype <U1"):
        default_batchify_fn(["a", "b"])
    with pytest.raises(MXNetError, match="do not stack"):
        default_batchify_fn([np.zeros(2), np.zeros(3)])


# ------------------------------------------------------------------------------ DataLoader


def test_shuffled_dataloader_epochs_match_mxnet():
    rec = DOC["dataloader_shuffle"]
    np.random.seed(rec["seed"])
    loader = gdata.DataLoader(gdata.ArrayDataset(np.arange(rec["length"])),
                              batch_size=rec["batch_size"], shuffle=True,
                              last_batch=rec["last_batch"])
    epochs = [[b.asnumpy().tolist() for b in loader] for _ in range(3)]
    assert epochs == rec["epochs"]
    assert all(b.dtype == np.int64 for b in loader)


def test_dataloader_length_and_last_batch():
    ds = np.arange(10)
    assert len(gdata.DataLoader(ds, 3)) == 4
    assert len(gdata.DataLoader(ds, 3, last_batch="discard")) == 3
    loader = gdata.DataLoader(ds, 3, last_batch="rollover")
    assert len(loader) == 3
    assert [b.asnumpy().tolist() for b in loader][-1] == [6, 7, 8]
    assert len(loader) == 3 and [b.asnumpy().tolist() for b in loader][0] == [9, 0, 1]


def test_dataloader_argument_errors():
    with pytest.raises(ValueError, match="batch_size must be specified"):
        gdata.DataLoader(np.arange(4))
    with pytest.raises(MXNetError, match="shuffle must not be specified"):
        gdata.DataLoader(np.arange(4), 2, shuffle=True, sampler=gdata.SequentialSampler(4))
    bs = gdata.BatchSampler(gdata.SequentialSampler(4), 2)
    with pytest.raises(MXNetError, match="must not be specified if batch_sampler"):
        gdata.DataLoader(np.arange(4), 2, batch_sampler=bs)
    with pytest.raises(MXNetError, match="timeout must be positive"):
        gdata.DataLoader(np.arange(4), 2, timeout=0)


def test_dataloader_batch_sampler_and_pin_memory():
    bs = gdata.BatchSampler(gdata.SequentialSampler(5), 2, "discard")
    loader = gdata.DataLoader(gdata.ArrayDataset(np.arange(5.0), np.arange(5)),
                              batch_sampler=bs, pin_memory=True, pin_device_id=1)
    batches = list(loader)
    assert len(batches) == 2
    data, label = batches[1]
    assert data.context == mx.cpu_pinned(1) and label.context == mx.cpu_pinned(1)
    assert data.asnumpy().tolist() == [2.0, 3.0] and data.dtype == np.float64


class _Squares(gdata.Dataset):
    """Samples ``(i * i as float32 (2, 3) array, i)``; deterministic."""

    def __len__(self):
        return 11

    def __getitem__(self, i):
        return np.full((2, 3), i * i, np.float32), i


@pytest.mark.parametrize("thread_pool", [False, True])
def test_workers_give_the_same_batches(thread_pool):
    ds = _Squares().transform_first(lambda x: mx.nd.array(x) + 1)  # a lambda: fork carries it
    ref = [_np(b) for b in gdata.DataLoader(ds, 3)]
    loader = gdata.DataLoader(ds, 3, num_workers=2, thread_pool=thread_pool)
    for _ in range(2):
        got = list(loader)
        _assert_batches_equal([_np(b) for b in got], ref)
        assert got[0][0].context == mx.Context("cpu_shared", 0)
    assert len(loader) == 4
    loader.close()


def test_workers_follow_the_shuffled_order_of_the_main_process():
    ds = gdata.ArrayDataset(np.arange(17))
    np.random.seed(11)
    ref = [b.asnumpy().tolist() for b in gdata.DataLoader(ds, 4, shuffle=True)]
    np.random.seed(11)
    loader = gdata.DataLoader(ds, 4, shuffle=True, num_workers=2, prefetch=1)
    assert [b.asnumpy().tolist() for b in loader] == ref
    loader.close()


def test_workers_with_custom_batchify_and_pinned_output():
    def batchify(samples):
        return {"n": len(samples), "sum": mx.nd.array([float(s) for s in samples])}

    loader = gdata.DataLoader(np.arange(7), 3, batchify_fn=batchify, num_workers=2,
                              pin_memory=True)
    out = list(loader)
    assert [b["n"] for b in out] == [3, 3, 1]
    assert out[2]["sum"].asnumpy().tolist() == [6.0]
    loader.close()


def test_interleaved_iterators_share_the_workers():
    loader = gdata.DataLoader(np.arange(12), 2, num_workers=2)
    a, b = iter(loader), iter(loader)
    seen_a = [next(a).asnumpy().tolist(), next(a).asnumpy().tolist()]
    seen_b = [x.asnumpy().tolist() for x in b]
    seen_a += [x.asnumpy().tolist() for x in a]
    expected = [[2 * i, 2 * i + 1] for i in range(6)]
    assert seen_a == expected and seen_b == expected
    loader.close()


def test_leaving_an_epoch_early_does_not_leak_batches_into_the_next():
    loader = gdata.DataLoader(np.arange(20), 2, num_workers=2, prefetch=6)
    for i, _ in enumerate(loader):
        if i == 1:
            break
    assert [b.asnumpy().tolist()[0] for b in loader] == list(range(0, 20, 2))
    pool = loader._worker_pool
    assert not pool._results  # the abandoned epoch's batches were dropped
    loader.close()


class _Failing(gdata.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise KeyError(f"no sample {i}")
        return np.float32(i)


@pytest.mark.parametrize("thread_pool", [False, True])
def test_worker_exception_names_the_sample(thread_pool):
    loader = gdata.DataLoader(_Failing(), 2, num_workers=2, thread_pool=thread_pool)
    kind = "thread" if thread_pool else "process"
    with pytest.raises(MXNetError, match=rf"worker {kind} failed on sample index 5: "
                                         r"KeyError: 'no sample 5'") as info:
        list(loader)
    if thread_pool:
        assert isinstance(info.value.__cause__, KeyError)
    else:
        assert "Traceback in the worker" in str(info.value)
        assert "raise KeyError" in str(info.value)
    # The workers survive a failing sample: a dataset view without it loads fine.
    clean = gdata.DataLoader(_Failing().take(4), 2, num_workers=2, thread_pool=thread_pool)
    assert [b.asnumpy().tolist() for b in clean] == [[0.0, 1.0], [2.0, 3.0]]
    loader.close()
    clean.close()


def test_batchify_exception_names_the_samples():
    def bad(samples):
        raise ValueError("cannot batch")

    loader = gdata.DataLoader(np.arange(4), 2, batchify_fn=bad, num_workers=1)
    with pytest.raises(MXNetError, match=r"batchify_fn on the samples at indices \[0, 1\]: "
                                         "ValueError: cannot batch"):
        next(iter(loader))
    loader.close()


class _Dies(gdata.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3 and multiprocessing.current_process().name.startswith("mxlite-DataLoader"):
            os._exit(7)
        return np.float32(i)


def test_worker_death_is_reported_and_the_next_epoch_recovers():
    loader = gdata.DataLoader(_Dies(), 2, num_workers=2)
    with pytest.raises(MXNetError, match=r"exited unexpectedly with exit code 7 while "
                                         r"loading the samples at indices 2, 3"):
        list(loader)
    old = loader._worker_pool
    assert old.closed and not any(p.is_alive() for p in old._procs)
    with pytest.raises(MXNetError, match="exit code 7"):
        list(loader)  # new workers, same crash: proves a fresh pool was started
    assert loader._worker_pool is not old
    loader.close()


class _Stuck(gdata.Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        time.sleep(60)
        return i


def test_timeout_raises_and_close_terminates_the_stuck_worker():
    loader = gdata.DataLoader(_Stuck(), 1, num_workers=1, timeout=0.2)
    with pytest.raises(DataLoaderTimeoutError, match="timed out after 0.2 seconds"):
        list(loader)
    assert issubclass(DataLoaderTimeoutError, multiprocessing.TimeoutError)
    procs = loader._worker_pool._procs
    loader.close()
    assert not any(p.is_alive() for p in procs)


def test_workers_stop_when_the_loader_is_collected():
    loader = gdata.DataLoader(np.arange(6), 2, num_workers=2)
    assert len(list(loader)) == 3
    procs = list(loader._worker_pool._procs)
    assert all(p.is_alive() for p in procs)
    del loader
    gc.collect()
    assert not any(p.is_alive() for p in procs)
    assert all(p.exitcode == 0 for p in procs)  # asked to stop, not terminated


class _Draws(gdata.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return np.array([os.getpid(), np.random.randint(1 << 30)])


def test_each_worker_process_has_its_own_random_stream():
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    loader = gdata.DataLoader(_Draws(), 1, num_workers=2)
    rows = [b.asnumpy()[0] for b in loader]
    loader.close()
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # nothing drawn here
    by_pid = {}
    for pid, draw in rows:
        by_pid.setdefault(pid, []).append(draw)
    assert len(by_pid) == 2
    firsts = [draws[0] for draws in by_pid.values()]
    assert firsts[0] != firsts[1]


def test_auto_reload_prefetches_the_next_epoch():
    loader = gdata.DataLoader(np.arange(4), 2, num_workers=1, auto_reload=True)
    assert loader._iter is not None  # the first epoch is already requested
    assert [b.asnumpy().tolist() for b in loader] == [[0, 1], [2, 3]]
    assert loader._iter is not None
    assert [b.asnumpy().tolist() for b in loader] == [[0, 1], [2, 3]]
    loader.close()


def test_spawned_workers_load_a_picklable_dataset(monkeypatch):
    # Where fork is not used (macOS, Windows) the dataset travels to the workers by pickle.
    from mxlite.gluon.data import dataloader

    monkeypatch.setattr(dataloader, "_start_method", lambda: "spawn")
    loader = gdata.DataLoader(_Squares(), 4, num_workers=1)
    got = [_np(b) for b in loader]
    _assert_batches_equal(got, [_np(b) for b in gdata.DataLoader(_Squares(), 4)])
    loader.close()
    with pytest.raises(MXNetError, match="'spawn' start method the dataset and batchify_fn "
                                         "must pickle"):
        gdata.DataLoader(gdata.SimpleDataset([1]).transform(lambda x: x), 1, num_workers=1)
