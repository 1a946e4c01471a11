"""``mxlite demo``: the seed program's steps, run for real in a folder, reported as they go.

The seed program: a symbol ``a + b`` (``tojson``, ``save``, ``loads``), NDArray pickling and
array files, then an MLP trained with ``Module.fit`` for 5 epochs with a checkpoint per epoch,
``load_checkpoint(prefix, 3)``, ``set_params`` and the ``tojson`` equality; then the same in
Gluon form: a ``HybridSequential`` trained with ``autograd.record`` and a ``Trainer``,
``save_parameters`` / ``load_parameters``, ``export`` and ``SymbolBlock.imports``, and the
exported files loaded back by ``mx.model.load_checkpoint``. The data are synthetic (a learnable
10-class problem), so the demo needs no download.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["run_demo", "make_mlp", "synthetic_data"]


def make_mlp(num_hidden: int = 64, num_classes: int = 10) -> Any:
    """The seed's network: data -> FullyConnected -> relu -> FullyConnected -> SoftmaxOutput."""
    from . import symbol as sym

    data = sym.Variable("data")
    fc1 = sym.FullyConnected(data, name="fc1", num_hidden=num_hidden)
    act1 = sym.Activation(fc1, name="relu1", act_type="relu")
    fc2 = sym.FullyConnected(act1, name="fc2", num_hidden=num_classes)
    return sym.SoftmaxOutput(fc2, name="softmax")


def synthetic_data(n: int = 5000, dim: int = 20, num_classes: int = 10,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)``: Gaussian features, labels from a fixed random linear teacher (float32)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)).astype(np.float32)
    teacher = rng.standard_normal((dim, num_classes)).astype(np.float32)
    y = np.argmax(x @ teacher, axis=1).astype(np.float32)
    return x, y


class _Echo(logging.Handler):
    """Shows fit's log lines (``Epoch[0] Train-accuracy=...``) through ``echo``."""

    def __init__(self, echo: Callable[[str], object]):
        super().__init__(logging.INFO)
        self._echo = echo

    def emit(self, record: logging.LogRecord) -> None:
        self._echo("  " + record.getMessage())


def _ndarray_part(out_dir: str, echo: Callable[[str], object]) -> dict:
    from . import ndarray as nd

    path = os.path.join(out_dir, "temp.ndarray")
    x = nd.ones((2, 3))
    echo(f"x = mx.nd.ones((2, 3))            -> shape {x.shape}, dtype {x.dtype.__name__}")
    y = pickle.loads(pickle.dumps(x))
    echo(f"y = pickle.loads(pickle.dumps(x)) -> {type(y).__name__} {y.shape}")
    values = y.asnumpy()
    echo(f"y.asnumpy()                       -> {values.tolist()}")
    nd.save(path, [x, y])
    echo(f"mx.nd.save('temp.ndarray', [x, y])          -> {os.path.getsize(path)} bytes")
    nd.save(path, {"a": x, "b": y})
    echo(f"mx.nd.save('temp.ndarray', {{'a': x, 'b': y}}) -> {os.path.getsize(path)} bytes")
    loaded = nd.load(path)
    echo("mx.nd.load('temp.ndarray')                  -> "
         + ", ".join(f"{k}: {v.shape}" for k, v in loaded.items()))
    return {"x": x, "y": y, "values": values, "loaded": loaded, "path": path}


def _symbol_part(out_dir: str, echo: Callable[[str], object]) -> dict:
    from . import symbol as sym

    a = sym.Variable("a", shape=[2])
    b = sym.Variable("b", shape=[3])
    c = a + b
    echo("c = a + b; print(c.tojson()):")
    for line in c.tojson().splitlines():
        echo("  " + line)
    path = os.path.join(out_dir, "symbol-c.json")
    c.save(path)
    c2 = sym.loads(path)
    echo(f"c.save('symbol-c.json'); mx.sym.loads(...) -> {c2.list_arguments()} -> "
         f"{c2.list_outputs()}, same JSON: {c2.tojson() == c.tojson()}")
    return {"c": c, "c2": c2, "symbol_path": path}


def _module_part(out_dir: str, echo: Callable[[str], object], num_epoch: int) -> dict:
    from . import callback, io, metric, model
    from . import module as mod_
    from . import random as mx_random

    mx_random.seed(42)
    np.random.seed(42)  # NDArrayIter shuffles with numpy, as MXNet does
    x, y = synthetic_data()
    n_train = 4000
    train_iter = io.NDArrayIter(x[:n_train], y[:n_train], batch_size=32, shuffle=True)
    val_iter = io.NDArrayIter(x[n_train:], y[n_train:], batch_size=32)
    net = make_mlp()
    prefix = os.path.join(out_dir, "mx_mlp")
    echo(f"mod = mx.mod.Module(symbol=net)   (MLP 20-64-10, {n_train} synthetic examples)")
    echo(f"mod.fit(train_iter, num_epoch={num_epoch}, "
         "epoch_end_callback=mx.callback.do_checkpoint('mx_mlp'))")
    mod = mod_.Module(symbol=net)
    handler = _Echo(echo)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        mod.fit(train_iter, eval_data=val_iter, num_epoch=num_epoch,
                optimizer_params={"learning_rate": 0.02, "momentum": 0.9},
                epoch_end_callback=callback.do_checkpoint(prefix))
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    files = sorted(f for f in os.listdir(out_dir) if f.startswith("mx_mlp"))
    echo("files written: " + ", ".join(files))
    final_acc = dict(mod.score(val_iter, metric.Accuracy()))["accuracy"]

    sym, arg_params, aux_params = model.load_checkpoint(prefix, 3)
    echo(f"sym, arg_params, aux_params = mx.model.load_checkpoint('mx_mlp', 3) -> "
         f"{sorted(arg_params)}")
    mod.set_params(arg_params, aux_params)
    same = sym.tojson() == net.tojson()
    echo(f"mod.set_params(arg_params, aux_params); sym.tojson() == net.tojson() -> {same}")
    epoch3_acc = dict(mod.score(val_iter, metric.Accuracy()))["accuracy"]
    echo(f"validation accuracy: {final_acc:.4f} after epoch {num_epoch}, "
         f"{epoch3_acc:.4f} with the epoch-3 checkpoint (chance: 0.10)")
    return {"module": mod, "files": files, "final_accuracy": final_acc,
            "epoch3_accuracy": epoch3_acc, "tojson_equal": same, "prefix": prefix}


def _gluon_part(out_dir: str, echo: Callable[[str], object], num_epoch: int) -> dict:
    from . import autograd, gluon, init, model
    from . import name as mx_name
    from . import ndarray as nd
    from . import random as mx_random

    mx_random.seed(42)
    np.random.seed(42)  # NDArrayIter shuffles with numpy, as MXNet does
    x, y = synthetic_data()
    n_train = 4000
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(x[:n_train], y[:n_train]),
                                   batch_size=32, shuffle=True)
    nn = gluon.nn
    with mx_name.NameManager():  # fresh counters: the names are hybridsequential0_dense0_...
        net = nn.HybridSequential()
        with net.name_scope():
            net.add(nn.Dense(64, activation="relu"), nn.Dense(10))
    net.initialize(init.Xavier())
    net.hybridize()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd",
                            {"learning_rate": 0.02, "momentum": 0.9})
    echo("net = nn.HybridSequential(); net.add(nn.Dense(64, activation='relu'), nn.Dense(10))")
    echo(f"net.hybridize(); {num_epoch} epochs of autograd.record() + loss.backward() + "
         "trainer.step(32)")
    for epoch in range(num_epoch):
        total = 0.0
        for data, label in loader:
            with autograd.record():
                loss = loss_fn(net(data), label)
            loss.backward()
            trainer.step(data.shape[0])
            total += float(loss.sum().asscalar())
        echo(f"  Epoch[{epoch}] mean loss={total / n_train:.4f}")
    x_val, y_val = nd.array(x[n_train:]), y[n_train:]
    out = net(x_val).asnumpy()
    accuracy = float((out.argmax(axis=1) == y_val).mean())

    params = os.path.join(out_dir, "gluon_mlp.params")
    net.save_parameters(params)
    net2 = nn.HybridSequential()
    with net2.name_scope():
        net2.add(nn.Dense(64, activation="relu"), nn.Dense(10))
    net2.load_parameters(params)
    same_params = bool(np.array_equal(net2(x_val).asnumpy(), out))
    echo(f"net.save_parameters('gluon_mlp.params'); load_parameters into a new net -> same "
         f"outputs: {same_params}")
    prefix = os.path.join(out_dir, "gluon_mlp")
    net.export(prefix, epoch=num_epoch)
    imported = gluon.SymbolBlock.imports(f"{prefix}-symbol.json", ["data"],
                                         f"{prefix}-{num_epoch:04d}.params")
    diff_import = float(np.abs(imported(x_val).asnumpy() - out).max())
    sym, arg_params, aux_params = model.load_checkpoint(prefix, num_epoch)
    echo(f"net.export('gluon_mlp', epoch={num_epoch}) -> gluon_mlp-symbol.json, "
         f"gluon_mlp-{num_epoch:04d}.params; SymbolBlock.imports max |diff| = {diff_import:.2e};"
         f" load_checkpoint -> {sorted(arg_params)}")
    echo(f"Gluon validation accuracy: {accuracy:.4f} (chance: 0.10)")
    return {"gluon_accuracy": accuracy, "gluon_same_params": same_params,
            "gluon_import_diff": diff_import, "gluon_export_args": sorted(arg_params),
            "gluon_symbol": sym}


def run_demo(out_dir: str | os.PathLike, echo: Callable[[str], object] = print,
             num_epoch: int = 5) -> dict:
    """Run the seed program inside ``out_dir``; returns what it made.

    Steps: the symbol ``a + b`` (``tojson``, ``save`` to ``symbol-c.json``, ``loads``);
    ``ones((2, 3))``, a pickle round trip, ``save`` of a list then of a dict to
    ``temp.ndarray``, and ``load`` of it back; ``Module.fit`` of an MLP for ``num_epoch``
    epochs with ``do_checkpoint('mx_mlp')``, ``load_checkpoint('mx_mlp', 3)``,
    ``set_params`` and the ``tojson`` comparison, with the accuracy reached; the Gluon
    version of the same (training, ``save_parameters`` / ``load_parameters``, ``export``,
    ``SymbolBlock.imports``, ``load_checkpoint`` of the export).
    """
    out_dir = os.fspath(out_dir)
    result = _symbol_part(out_dir, echo)
    result.update(_ndarray_part(out_dir, echo))
    result.update(_module_part(out_dir, echo, num_epoch))
    result.update(_gluon_part(out_dir, echo, num_epoch))
    return result
