"""A worker of tests/test_kvstore_dist.py (also a runnable example):

    mpiexec -n 2 python tests/kvstore_dist_worker.py OUT_DIR [EPOCHS] [MODE] [KVSTORE] [NCTX]

Trains the golden MLP (tests/data/module/mx_mlp) with ``Module`` and KVSTORE (default
``dist_sync``) on NCTX contexts per worker (default 1): each worker takes its share of every
global batch of 24 examples, and after each epoch writes its parameters to
``OUT_DIR/rank{r}-epoch{e}.npz``. Ranks other than 0 start from other weights: the store's
``init`` gives them rank 0's. MODE ``kill`` makes rank 1 kill itself (SIGKILL) after the first
epoch; ``hang`` makes it stop answering (sleep) instead; ``gluon`` trains a Gluon Dense
network with ``gluon.Trainer(kvstore=KVSTORE)`` instead of the Module.
"""

from __future__ import annotations

import os
import pathlib
import signal
import sys
import time

import numpy as np

import mxlite as mx

DATA = pathlib.Path(__file__).parent / "data" / "module"
GLOBAL_BATCH = 24
N = 96


def main(argv: list[str]) -> int:
    out = pathlib.Path(argv[0])
    epochs = int(argv[1]) if len(argv) > 1 else 2
    mode = argv[2] if len(argv) > 2 else "train"
    kvstore = argv[3] if len(argv) > 3 else "dist_sync"
    contexts = [mx.cpu(i) for i in range(int(argv[4]) if len(argv) > 4 else 1)]
    kv = mx.kv.create(kvstore)
    rank, size = kv.rank, kv.num_workers
    assert os.environ["DMLC_NUM_WORKER"] == str(size)
    assert os.environ["DMLC_ROLE"] == "worker"
    if mode == "gluon":
        return _gluon(out, epochs, kvstore, rank, size)
    io = np.load(DATA / "io.npz")
    x, y = io["X"][:N], io["Y"][:N]
    # This worker's rows of each global batch.
    per = GLOBAL_BATCH // size
    rows = np.concatenate([np.arange(b + rank * per, b + (rank + 1) * per)
                           for b in range(0, N, GLOBAL_BATCH)])
    it = mx.io.NDArrayIter(x[rows], y[rows], batch_size=per, shuffle=False,
                           label_name="softmax_label")
    sym, arg, aux = mx.model.load_checkpoint(str(DATA / "mx_mlp"), 1)
    mod = mx.mod.Module(sym, context=contexts)
    mod.bind(it.provide_data, it.provide_label)
    if rank == 0:
        mod.set_params(arg, aux)
    else:
        mx.random.seed(rank)
        mod.init_params(mx.init.Uniform(0.5))
    mod.init_optimizer(kvstore=kvstore, optimizer="sgd",
                       optimizer_params={"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-4})
    for epoch in range(epochs):
        it.reset()
        for batch in it:
            mod.forward_backward(batch)
            mod.update()
        params = {k: v.asnumpy() for k, v in mod.get_params()[0].items()}
        np.savez(out / f"rank{rank}-epoch{epoch}.npz", **params)
        kv.barrier()
        if mode == "kill" and rank == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        if mode == "hang" and rank == 1:
            time.sleep(600)
    return 0


def _gluon(out: pathlib.Path, epochs: int, kvstore: str, rank: int, size: int) -> int:
    """Each step sums the gradients over the workers. The workers start from the same
    weights: as in MXNet, the Trainer's broadcast of rank 0's weights happens at the first
    ``step``, after that step's gradients were computed with each worker's own."""
    from mxlite import autograd, gluon

    io = np.load(DATA / "io.npz")
    x, y = io["X"][:N], io["Y"][:N]
    per = GLOBAL_BATCH // size
    mx.random.seed(0)
    net = gluon.nn.Dense(10, in_units=20)
    net.initialize(mx.init.Uniform(0.5))
    trainer = gluon.Trainer(net.collect_params(), "sgd",
                            {"learning_rate": 0.1, "momentum": 0.9}, kvstore=kvstore)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    for epoch in range(epochs):
        for b in range(0, N, GLOBAL_BATCH):
            rows = slice(b + rank * per, b + (rank + 1) * per)
            with autograd.record():
                loss = loss_fn(net(mx.nd.array(x[rows])), mx.nd.array(y[rows]))
            loss.backward()
            trainer.step(GLOBAL_BATCH)
        params = {k: v.data().asnumpy() for k, v in net.collect_params().items()}
        np.savez(out / f"rank{rank}-epoch{epoch}.npz", **params)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
