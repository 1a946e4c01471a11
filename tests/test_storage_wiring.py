"""Symbol and Module files through mxlite.storage: ``mx.sym.save/load/loads`` and
``Module.save_checkpoint/load``, ``save/load_optimizer_states`` on any URI, and
``Module.fit(..., resume=prefix)``.

These need the symbol/ and module/ wiring (Symbol.save -> storage.write_text_atomic,
sym.load -> storage.read_bytes, Module states -> storage.*_bytes*, fit's ``resume``)."""

from __future__ import annotations

import uuid

import fsspec
import numpy as np
import pytest

import mxlite as mx
from mxlite import storage
from mxlite.demo import make_mlp, synthetic_data


@pytest.fixture
def mem():
    root = f"memory://w{uuid.uuid4().hex[:10]}"
    yield root
    fs = fsspec.filesystem("memory")
    for p in list(fs.store):
        if p.startswith(root[len("memory:/"):]):
            del fs.store[p]


# ----------------------------------------------------------------------------- symbol


def test_symbol_save_load_loads_on_memory(mem):
    net = make_mlp(8)
    net.save(f"{mem}/net-symbol.json")
    assert storage.read_text(f"{mem}/net-symbol.json") == net.tojson()
    assert mx.sym.load(f"{mem}/net-symbol.json").tojson() == net.tojson()
    assert mx.sym.loads(f"{mem}/net-symbol.json").tojson() == net.tojson()


def test_symbol_storage_options_reach_the_filesystem(mem):
    net = make_mlp(8)
    net.save(f"{mem}/net-symbol.json")
    target = fsspec.filesystem("memory")

    class Tally(fsspec.AbstractFileSystem):
        protocol = "tally"
        cachable = False
        calls = 0

        def __init__(self, target, **kw):
            super().__init__(**kw)
            self.target = target

        def cat_file(self, path, start=None, end=None, **kw):
            Tally.calls += 1
            return self.target.cat_file(self._strip_protocol(path), start=start, end=end)

    fsspec.register_implementation("tally", Tally, clobber=True)
    uri = "tally://" + f"{mem}/net-symbol.json"[len("memory://"):]
    got = mx.sym.load(uri, storage_options={"target": target})
    assert got.tojson() == net.tojson() and Tally.calls == 1


def test_symbol_save_is_atomic(tmp_path, monkeypatch):
    p = tmp_path / "net-symbol.json"
    make_mlp(8).save(str(p))
    before = p.read_text()
    import mxlite.storage as st

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(st.os, "replace", broken_replace)
    with pytest.raises(OSError):
        make_mlp(16).save(str(p))
    assert p.read_text() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["net-symbol.json"]


def test_missing_symbol_file_is_mxneterror(mem):
    with pytest.raises(mx.base.MXNetError, match="No such file or directory"):
        mx.sym.load(f"{mem}/absent-symbol.json")


# ----------------------------------------------------------------------------- module


def _iter(n=200):
    x, y = synthetic_data(n)
    return mx.io.NDArrayIter(x, y, batch_size=20, shuffle=False)


def _fit(mod, num_epoch, **kw):
    mod.fit(_iter(), num_epoch=num_epoch, optimizer="sgd",
            optimizer_params={"learning_rate": 0.1, "momentum": 0.9},
            initializer=mx.init.Xavier(), **kw)


def test_module_checkpoint_with_states_on_memory(mem):
    mx.random.seed(3)
    mod = mx.mod.Module(make_mlp(16))
    _fit(mod, 2)
    mod.save_checkpoint(f"{mem}/m", 2, save_optimizer_states=True)
    assert storage.listdir(mem) == ["m-0002.params", "m-0002.states", "m-symbol.json"]
    assert mx.model.verify(f"{mem}/m-0002.states") == []
    mod2 = mx.mod.Module.load(f"{mem}/m", 2, load_optimizer_states=True)
    mod2.bind(data_shapes=_iter().provide_data, label_shapes=_iter().provide_label)
    mod2.init_optimizer(optimizer="sgd",
                        optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    assert mod2._updater.get_states() == mod._updater.get_states()
    mod2.save_optimizer_states(f"{mem}/again.states")
    assert storage.read_bytes(f"{mem}/again.states") == \
        storage.read_bytes(f"{mem}/m-0002.states")


def test_fit_resume_continues_exactly(mem):
    """4 epochs straight == 2 epochs, checkpoint with states, then fit(resume=prefix)."""
    mx.random.seed(11)
    straight = mx.mod.Module(make_mlp(16))
    _fit(straight, 4)

    mx.random.seed(11)
    first = mx.mod.Module(make_mlp(16))
    prefix = f"{mem}/run"
    _fit(first, 2, epoch_end_callback=mx.callback.module_checkpoint(
        first, prefix, save_optimizer_states=True, keep_last=1))
    assert storage.listdir(mem) == ["run-0002.params", "run-0002.states", "run-symbol.json"]

    mx.random.seed(999)  # the resumed run's own initialisation must not matter
    resumed = mx.mod.Module(make_mlp(16))
    seen = []
    _fit(resumed, 4, resume=prefix,
         epoch_end_callback=lambda epoch, *a: seen.append(epoch))
    assert seen == [2, 3]
    a, _ = straight.get_params()
    b, _ = resumed.get_params()
    for k in a:
        np.testing.assert_allclose(b[k].asnumpy(), a[k].asnumpy(), rtol=1e-6, atol=1e-7)


def test_fit_resume_without_checkpoint_starts_fresh(mem):
    mod = mx.mod.Module(make_mlp(16))
    seen = []
    _fit(mod, 2, resume=f"{mem}/none", epoch_end_callback=lambda e, *a: seen.append(e))
    assert seen == [0, 1]


def test_module_checkpoint_storage_options_reach_the_filesystem(mem):
    """Module.save_checkpoint / Module.load / the states pass storage_options to fsspec."""
    target = fsspec.filesystem("memory")
    seen = []

    class Opts(fsspec.AbstractFileSystem):
        protocol = "opts"
        cachable = False

        def __init__(self, target, token, **kw):
            super().__init__(**kw)
            self.target = target
            seen.append(token)

        def __getattribute__(self, name):
            if name in ("pipe_file", "cat_file", "mv", "rm", "exists", "info", "ls",
                        "_open"):
                target = object.__getattribute__(self, "target")
                strip = object.__getattribute__(self, "_strip_protocol")
                fn = getattr(target, name)
                return lambda path, *a, **k: fn(strip(path), *a, **k)
            return object.__getattribute__(self, name)

    fsspec.register_implementation("opts", Opts, clobber=True)
    opts = {"target": target, "token": "secret"}
    prefix = "opts://" + f"{mem}/m"[len("memory://"):]
    mx.random.seed(3)
    mod = mx.mod.Module(make_mlp(16))
    _fit(mod, 1)
    mod.save_checkpoint(prefix, 1, save_optimizer_states=True, storage_options=opts)
    assert storage.listdir(mem) == ["m-0001.params", "m-0001.states", "m-symbol.json"]
    mod2 = mx.mod.Module.load(prefix, 1, load_optimizer_states=True, storage_options=opts)
    mod2.bind(data_shapes=_iter().provide_data, label_shapes=_iter().provide_label)
    mod2.init_optimizer(optimizer="sgd",
                        optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    assert mod2._updater.get_states() == mod._updater.get_states()
    assert seen and set(seen) == {"secret"}
