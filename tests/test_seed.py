"""The seed program, verbatim with ``import mxlite as mx``, in a scratch folder.

The seed leaves ``net`` and ``train_iter`` to the reader: here an MLP on synthetic data
(mxlite.demo's). Its lines are run as written; the assertions check what they made.
"""

from __future__ import annotations

import numpy as np

from mxlite.demo import make_mlp, synthetic_data

SEED = '''
import mxlite as mx, pickle
a = mx.sym.Variable('a', shape=[2,]); b = mx.sym.Variable('b', shape=[3,]); c = a + b
print(c.tojson()); c.save('symbol-c.json'); c2 = mx.sym.loads('symbol-c.json')
x = mx.nd.ones((2, 3)); y = pickle.loads(pickle.dumps(x)); y.asnumpy()
mx.nd.save('temp.ndarray', [x, y]); mx.nd.save('temp.ndarray', {'a': x, 'b': y}); mx.nd.load('temp.ndarray')
mod = mx.mod.Module(symbol=net)
mod.fit(train_iter, num_epoch=5, epoch_end_callback=mx.callback.do_checkpoint('mx_mlp'))
sym, arg_params, aux_params = mx.model.load_checkpoint('mx_mlp', 3)
mod.set_params(arg_params, aux_params)
'''  # noqa: E501 - the seed's own line lengths


def test_seed_runs_verbatim(tmp_path, monkeypatch, capsys):
    import mxlite as mx

    monkeypatch.chdir(tmp_path)
    mx.random.seed(7)
    x, y = synthetic_data(1000)
    net = make_mlp()
    train_iter = mx.io.NDArrayIter(x, y, batch_size=10, shuffle=True)
    scope = {"net": net, "train_iter": train_iter}
    exec(compile(SEED, "seed.py", "exec"), scope)

    printed = capsys.readouterr().out
    assert printed.startswith('{\n  "nodes": [\n')
    assert '"op": "elemwise_add"' in printed
    assert scope["c2"].tojson() == scope["c"].tojson()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "mx_mlp-0001.params", "mx_mlp-0002.params", "mx_mlp-0003.params",
        "mx_mlp-0004.params", "mx_mlp-0005.params", "mx_mlp-symbol.json", "symbol-c.json",
        "temp.ndarray"]
    assert scope["sym"].tojson() == net.tojson()
    assert scope["aux_params"] == {}
    mod = scope["mod"]
    # set_params put the epoch-3 weights in the module.
    got, _ = mod.get_params()
    for name, value in scope["arg_params"].items():
        np.testing.assert_array_equal(got[name].asnumpy(), value.asnumpy())
    assert mod._exec.arg_dict["fc1_weight"].asnumpy().tolist() == \
        scope["arg_params"]["fc1_weight"].asnumpy().tolist()
    # The seed's defaults (Uniform(0.01) init, sgd lr 0.01) only learn the class frequencies
    # on this data: MXNet 1.9.1 also ends at the majority share, 0.175.
    acc = dict(mod.score(mx.io.NDArrayIter(x, y, batch_size=10), "acc"))["accuracy"]
    assert acc == np.bincount(y.astype(int)).max() / len(y) == 0.175


def test_manual_checkpointing_after_bind(tmp_path):
    """The seed's ``save_checkpoint(epoch, module, callback)`` style works without fit."""
    import mxlite as mx

    net = make_mlp()
    mod = mx.mod.Module(symbol=net)
    mod.bind(data_shapes=[("data", (16, 20))], label_shapes=[("softmax_label", (16,))])
    mod.init_params()
    prefix = str(tmp_path / "manual")
    for epoch in (1, 2):
        mod.save_checkpoint(prefix, epoch)
    mx.model.save_checkpoint(prefix + "_model", 2, mod.symbol, *mod.get_params())
    sym, arg, aux = mx.model.load_checkpoint(prefix, 2)
    sym2, arg2, _ = mx.model.load_checkpoint(prefix + "_model", 2)
    assert sym.tojson() == sym2.tojson() == net.tojson()
    assert sorted(arg) == ["fc1_bias", "fc1_weight", "fc2_bias", "fc2_weight"]
    for k in arg:
        np.testing.assert_array_equal(arg[k].asnumpy(), arg2[k].asnumpy())
        np.testing.assert_array_equal(arg[k].asnumpy(), mod.get_params()[0][k].asnumpy())
    assert (tmp_path / "manual-0001.params").read_bytes() == (
        tmp_path / "manual-0002.params").read_bytes()
