"""Distributed kvstores on real processes: ``mpiexec -n 2`` and ``-n 3`` run
tests/kvstore_dist_worker.py, which trains the golden MLP with ``Module(kvstore='dist_*')``.
Parameters must be identical on every worker after every epoch and equal (1e-6) to one
process training on the concatenated batches; a worker that dies or hangs must make the job
fail with a clear error instead of hanging."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx

pytest.importorskip("mpi4py")
MPIEXEC = pathlib.Path(sys.executable).parent / "mpiexec"
if not MPIEXEC.exists():
    pytest.skip(f"no mpiexec beside {sys.executable} (pip install 'mxlite[dist]')",
                allow_module_level=True)
WORKER = pathlib.Path(__file__).parent / "kvstore_dist_worker.py"
EPOCHS = 2


def _run(n: int, out: pathlib.Path, *args: str, timeout: float = 90, env: dict | None = None
         ) -> subprocess.CompletedProcess:
    # A store made earlier in this pytest process set DMLC_NUM_WORKER=1: not for the job.
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DMLC_")}
    full_env.update(env or {})
    return subprocess.run([str(MPIEXEC), "-n", str(n), sys.executable, str(WORKER), str(out),
                           *args], capture_output=True, text=True, timeout=timeout,
                          env=full_env)


def _single_process(epochs: int, rescale_grad: float) -> list[dict[str, np.ndarray]]:
    """The same training in one process on the global batches of 24."""
    io = np.load(DATA / "module" / "io.npz")
    it = mx.io.NDArrayIter(io["X"][:96], io["Y"][:96], batch_size=24, shuffle=False,
                           label_name="softmax_label")
    sym, arg, aux = mx.model.load_checkpoint(str(DATA / "module" / "mx_mlp"), 1)
    mod = mx.mod.Module(sym)
    mod.bind(it.provide_data, it.provide_label)
    mod.set_params(arg, aux)
    mod.init_optimizer(optimizer="sgd",
                       optimizer_params={"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-4,
                                         "rescale_grad": rescale_grad})
    result = []
    for _ in range(epochs):
        it.reset()
        for batch in it:
            mod.forward_backward(batch)
            mod.update()
        result.append({k: v.asnumpy().copy() for k, v in mod.get_params()[0].items()})
    return result


@pytest.fixture(scope="module")
def reference():
    return _single_process(EPOCHS, 1 / 24)


@pytest.mark.parametrize("n,kvstore,nctx", [(2, "dist_sync", 1), (3, "dist_sync", 1),
                                            (2, "dist_async", 2)])
def test_dist_training_matches_one_process(tmp_path, reference, n, kvstore, nctx):
    proc = _run(n, tmp_path, str(EPOCHS), "train", kvstore, str(nctx))
    assert proc.returncode == 0, proc.stderr
    if kvstore == "dist_async":
        # As in MXNet, Module normalizes by the global batch only on '_sync' stores: here
        # each worker's batch of 12. (mxlite's dist_async reduces synchronously.)
        reference = _single_process(EPOCHS, 1 / 12)
    for epoch in range(EPOCHS):
        got = [np.load(tmp_path / f"rank{r}-epoch{epoch}.npz") for r in range(n)]
        want = reference[epoch]
        assert sorted(got[0].files) == sorted(want)
        for name, value in want.items():
            for r in range(1, n):  # identical on every worker
                np.testing.assert_array_equal(got[r][name], got[0][name], err_msg=name)
            np.testing.assert_allclose(got[0][name], value, rtol=0, atol=1e-6, err_msg=name)


def test_killed_worker_stops_the_job(tmp_path):
    proc = _run(3, tmp_path, "5", "kill")
    assert proc.returncode != 0
    assert "BAD TERMINATION" in proc.stdout + proc.stderr
    assert not (tmp_path / "rank0-epoch4.npz").exists()


def test_hung_worker_makes_the_others_fail_with_a_clear_error(tmp_path):
    proc = _run(2, tmp_path, "5", "hang", env={"MXLITE_KVSTORE_TIMEOUT": "2"})
    assert proc.returncode != 0
    assert "KVStoreTimeoutError" in proc.stderr
    assert "got no answer from the other 1 worker(s) within 2 s" in proc.stderr
    assert "aborting the MPI job" in proc.stderr


def _gluon_single_process(epochs: int) -> list[list[np.ndarray]]:
    from mxlite import autograd, gluon

    io = np.load(DATA / "module" / "io.npz")
    x, y = io["X"][:96], io["Y"][:96]
    mx.random.seed(0)  # rank 0's weights
    net = gluon.nn.Dense(10, in_units=20)
    net.initialize(mx.init.Uniform(0.5))
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1,
                                                          "momentum": 0.9})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    result = []
    for _ in range(epochs):
        for b in range(0, 96, 24):
            with autograd.record():
                loss = loss_fn(net(mx.nd.array(x[b:b + 24])), mx.nd.array(y[b:b + 24]))
            loss.backward()
            trainer.step(24)
        result.append([p.data().asnumpy().copy() for p in net.collect_params().values()])
    return result


@pytest.mark.parametrize("n,kvstore", [(2, "dist_device_sync"), (3, "horovod")])
def test_gluon_trainer_on_dist_stores(tmp_path, n, kvstore):
    proc = _run(n, tmp_path, str(EPOCHS), "gluon", kvstore)
    assert proc.returncode == 0, proc.stderr
    want = _gluon_single_process(EPOCHS)
    for epoch in range(EPOCHS):
        got = [np.load(tmp_path / f"rank{r}-epoch{epoch}.npz") for r in range(n)]
        values = [[f[k] for k in f.files] for f in got]  # weight, bias
        for r in range(n):
            for g, g0, w in zip(values[r], values[0], want[epoch]):
                np.testing.assert_array_equal(g, g0)  # identical on every worker
                np.testing.assert_allclose(g, w, rtol=0, atol=1e-6)


def test_launch_runs_the_workers(tmp_path, capsys):
    from mxlite.tools import launch

    rc = launch.main(["-n", "2", "--env", "OMP_NUM_THREADS:1", sys.executable, str(WORKER),
                      str(tmp_path), "1"])
    assert rc == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rank0-epoch0.npz",
                                                          "rank1-epoch0.npz"]
    assert launch.main(["-n", "3", "--dry-run", "python", "train.py", "--kv-store",
                        "dist_sync"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("DMLC_ROLE=worker DMLC_NUM_WORKER=3 DMLC_NUM_SERVER=0 ")
    assert out.endswith(f"{MPIEXEC} -n 3 -launcher fork python train.py --kv-store dist_sync")


def test_launch_refuses_bad_command_lines(capsys):
    from mxlite.tools import launch

    assert launch.main(["-n", "2"]) == 1
    assert "no worker command given" in capsys.readouterr().err
    assert launch.main(["-n", "2", "--launcher", "mpi", "python", "x.py"]) == 1
    assert "--launcher mpi needs a host file (-H)" in capsys.readouterr().err
    assert launch.main(["-n", "0", "python", "x.py"]) == 1
    assert "at least 1" in capsys.readouterr().err
    assert launch.main(["-n", "2", "--env", "NOVALUE", "python", "x.py"]) == 1
    assert "NAME:VALUE" in capsys.readouterr().err


def test_launch_as_a_sub_command_keeps_the_parent_command_name(capsys):
    import argparse

    from mxlite.tools import launch

    parser = argparse.ArgumentParser(prog="mxlite")
    launch.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["launch", "-n", "2", "--dry-run", "python", "t.py", "-n", "5"])
    assert args.command == "launch" and args.num_workers == 2
    assert args.func(args) == 0
    assert capsys.readouterr().out.rstrip().endswith("-n 2 -launcher fork python t.py -n 5")
