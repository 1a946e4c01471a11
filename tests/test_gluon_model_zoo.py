"""``gluon.model_zoo.vision`` against MXNet 1.9.1's model zoo (tests/data/gluon/zoo/).

Recorded by tests/fixtures/gen_gluon_zoo.py for each of the 34 networks ``get_model`` knows:
the block tree (class names, prefixes), every parameter's structural name, prefixed name and
shape, the SHA-256 of the files ``save_parameters`` and ``export`` wrote once the parameters
were set from a seed (``gen_models.make_params``, in ``_collect_params_with_prefix`` order),
and MXNet's inference output on a seeded input at the smallest size the network accepts (but
at least 32).

Every network's structure is checked (cheap: shapes come from ``infer_shape``). Writing,
loading, running and exporting a network costs up to a few seconds and hundreds of MB for the
deep ones, so by default that runs for one representative of each family and version
(:data:`FAST`); set ``MXLITE_SLOW=1`` to run it for all 34.

``mobilenet0.25.gluon.params`` (copied from the golden corpus MXNet 1.9.1 wrote) is a real
model-zoo file with MXNet's own initialisation: it must load, compute MXNet's output and save
back byte for byte, and it stands in for a pretrained file in the ``pretrained=True`` test.

Outputs agree when ``max|ours - MXNet's| <= 1e-4 * max|MXNet's|``: the deep ResNets reach
logits of 1e9 with these random weights, so the bound scales with the output.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pathlib
import re

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite.gluon.model_zoo import model_store, vision
from mxlite.storage import MissingFileError

ZOO = DATA / "gluon" / "zoo"
FIXTURES = pathlib.Path(__file__).parent / "fixtures"


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_gluon_zoo", FIXTURES / "gen_gluon_zoo.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


GEN = _load_generator()
NAMES = GEN.NAMES
META = {n: json.loads((ZOO / f"{n}.json").read_text()) for n in NAMES}
API = json.loads((ZOO / "api.json").read_text())
OUTPUTS = np.load(ZOO / "outputs.npz")
SLOW = bool(os.environ.get("MXLITE_SLOW"))
# One network per family and version, each at most ~130 MB of parameters.
FAST = ["resnet18_v1", "resnet18_v2", "vgg11_bn", "alexnet", "densenet121", "squeezenet1.0",
        "squeezenet1.1", "inceptionv3", "mobilenet0.25", "mobilenetv2_0.25"]
RTOL = 1e-4


def _build(name: str, initialize: bool = False):
    """The network as the generator built it (fresh names), every shape inferred.

    With ``initialize``, the parameters are then initialized (to zeros: the tests set them),
    which the shapes being known makes immediate rather than deferred to a forward pass.
    """
    with mx.name.NameManager():
        net = vision.get_model(name)
    net.infer_shape(mx.nd.zeros(tuple(META[name]["input_shape"])))
    if initialize:
        net.initialize(mx.init.Zero())
    return net


def _set_seeded_params(net, name: str) -> None:
    """The generator's parameter values, in ``_collect_params_with_prefix`` order."""
    struct = net._collect_params_with_prefix()
    values = GEN.make_params(list(struct), [p.shape for p in struct.values()],
                             META[name]["seed"])
    total = sum(float(v.sum(dtype=np.float64)) for v in values.values())
    assert total == pytest.approx(META[name]["param_sum"], rel=1e-12)
    for key, p in struct.items():
        p.set_data(mx.nd.array(values.pop(key)))


def _block_tree(block, path: str = "") -> list[list[str]]:
    rows = [[path, type(block).__name__, block.prefix]]
    for key, child in block._children.items():
        rows += _block_tree(child, f"{path}.{key}" if path else key)
    return rows


def _sha256(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _input(name: str) -> np.ndarray:
    meta = META[name]
    x = GEN.make_input(tuple(meta["input_shape"]))
    assert float(x.sum(dtype=np.float64)) == pytest.approx(meta["data_sum"], rel=1e-12)
    return x


def _assert_output(name: str, out: np.ndarray) -> None:
    want = OUTPUTS[name]
    assert out.shape == tuple(META[name]["output_shape"]) == want.shape
    err = float(np.abs(out - want).max())
    scale = float(np.abs(want).max())
    assert err <= RTOL * scale, f"{name}: max |diff| {err:.3g} > {RTOL} * max |out| {scale:.3g}"


# ----------------------------------------------------------------------------------------
# Structure of every network.


@pytest.mark.parametrize("name", NAMES)
def test_structure_and_parameter_names_match_mxnet(name):
    meta = META[name]
    net = _build(name)
    assert type(net).__name__ == meta["class"]
    assert net.prefix == meta["prefix"]
    assert list(net._children) == ["features", "output"]
    assert _block_tree(net) == meta["blocks"]
    got = [[k, p.name, list(p.shape)] for k, p in net._collect_params_with_prefix().items()]
    assert got == meta["params"]
    assert list(net.collect_params().keys()) == [p[1] for p in meta["params"]]


# ----------------------------------------------------------------------------------------
# save_parameters / load_parameters / forward / export, per network.


class _Model:
    def __init__(self, name: str, net, params_file: pathlib.Path):
        self.name, self.net, self.params_file = name, net, params_file
        self.meta = META[name]


@pytest.fixture(scope="module", params=[
    pytest.param(n, marks=() if n in FAST or SLOW else pytest.mark.skip(
        reason="deep network: set MXLITE_SLOW=1 to run it")) for n in NAMES])
def model(request, tmp_path_factory):
    """The network with the generator's parameters set, and the file it saved."""
    name = request.param
    net = _build(name, initialize=True)
    _set_seeded_params(net, name)
    path = tmp_path_factory.mktemp("zoo") / f"{name}.params"
    net.save_parameters(str(path))
    yield _Model(name, net, path)
    path.unlink()


def test_save_parameters_writes_mxnets_bytes(model):
    want = model.meta["save_parameters"]
    assert model.params_file.stat().st_size == want["size"]
    assert _sha256(model.params_file) == want["sha256"]


def test_load_parameters_and_forward_give_mxnets_output(model):
    # The file is byte-identical to the one MXNet saved (test above), so this loads MXNet's.
    with mx.name.NameManager():
        net = vision.get_model(model.name)
    net.load_parameters(str(model.params_file))
    out = net(mx.nd.array(_input(model.name))).asnumpy()
    _assert_output(model.name, out)


def test_export_writes_mxnets_files(model, tmp_path):
    net = model.net
    net.hybridize()
    out = net(mx.nd.array(_input(model.name))).asnumpy()
    _assert_output(model.name, out)
    prefix = tmp_path / model.name
    net.export(str(prefix))
    want = model.meta["export"]
    sym_file = pathlib.Path(f"{prefix}-symbol.json")
    params_file = pathlib.Path(f"{prefix}-0000.params")
    graph = json.loads(sym_file.read_text())
    ops: dict[str, int] = {}
    for node in graph["nodes"]:
        ops[node["op"]] = ops.get(node["op"], 0) + 1
    assert dict(sorted(ops.items())) == want["ops"]
    assert _sha256(sym_file) == want["symbol_sha256"]
    assert params_file.stat().st_size == want["params_size"]
    assert _sha256(params_file) == want["params_sha256"]


# ----------------------------------------------------------------------------------------
# get_model, the constructors and the pretrained files.


def test_vision_has_mxnets_public_names():
    ours = {n for n in dir(vision) if not n.startswith("_")}
    assert set(API["vision"]) <= ours
    assert set(API["model_store_all"]) <= set(dir(model_store))


def test_model_store_table_is_mxnets():
    assert model_store._model_sha1 == API["sha1"]
    assert {n: model_store.short_hash(n) for n in NAMES} == API["short_hash"]


def test_get_model_refuses_an_unknown_name():
    with pytest.raises(mx.MXNetError) as e:
        vision.get_model("resnet19_v1")
    assert isinstance(e.value, ValueError)  # what MXNet raised
    assert str(e.value) == API["unknown_name_message"]
    with pytest.raises(ValueError, match="Pretrained model for resnet19_v1 is not available"):
        model_store.short_hash("resnet19_v1")


def test_model_zoo_is_reached_from_mx_gluon():
    assert mx.gluon.model_zoo.vision.get_model is vision.get_model
    assert mx.gluon.model_zoo.model_store is model_store


def test_constructors_refuse_unknown_variants():
    with pytest.raises(mx.MXNetError, match="Unsupported SqueezeNet version 1.2"):
        vision.SqueezeNet("1.2")
    with pytest.raises(mx.MXNetError, match="Invalid resnet version: 3"):
        vision.get_resnet(3, 18)
    with pytest.raises(mx.MXNetError, match="Invalid number of layers: 20"):
        vision.get_resnet(1, 20)
    with pytest.raises(mx.MXNetError, match="Invalid number of layers: 12"):
        vision.get_vgg(12)


def test_get_model_ignores_case_and_passes_classes():
    with mx.name.NameManager():
        net = vision.get_model("ResNet18_V1", classes=10)
    assert type(net).__name__ == "ResNetV1"
    assert net.output.weight.shape == (10, 512)


@pytest.mark.parametrize("name", NAMES)
def test_pretrained_without_the_file_says_which_file_to_put_where(name, tmp_path):
    root = tmp_path / "models"
    file_name = f"{name}-{API['short_hash'][name]}.params"
    with pytest.raises(MissingFileError) as e:
        vision.get_model(name, pretrained=True, root=str(root))
    msg = str(e.value)
    assert isinstance(e.value, FileNotFoundError)
    assert str(root / file_name) in msg
    assert API["sha1"][name] in msg
    assert f"gluon/models/{name}-{API['short_hash'][name]}.zip" in msg
    assert not root.exists()  # nothing created, nothing downloaded


def test_pretrained_root_defaults_to_mxnet_home(monkeypatch, tmp_path):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    where = re.escape(str(tmp_path / "models" / "alexnet-44335d1f.params"))
    with pytest.raises(MissingFileError, match=where):
        vision.alexnet(pretrained=True)
    monkeypatch.delenv("MXNET_HOME")
    home = os.path.join(os.path.expanduser("~"), ".mxnet", "models")
    assert model_store._default_root() == home


def test_pretrained_file_with_another_sha1_is_refused(tmp_path):
    bad = tmp_path / "squeezenet1.1-33ba0f93.params"
    bad.write_bytes(b"not MXNet's file")
    with pytest.raises(mx.MXNetError, match="33ba0f93753c83d86e1eb397f38a667eaf2e9376"):
        vision.squeezenet1_1(pretrained=True, root=str(tmp_path))


# A file MXNet's model zoo wrote: ``mobilenet0_25(classes=16)`` with MXNet's own random
# initialisation and non-trivial BatchNorm statistics, saved by ``save_parameters``
# (the golden corpus's models/mobilenet0.25.gluon.params; its export, input and output are
# tests/data/models/mobilenet0.25-*, see tests/data/expectations.json "models").
GOLDEN = ZOO / "mobilenet0.25.gluon.params"
GOLDEN_IO = DATA / "models" / "mobilenet0.25_io.npz"


def test_a_file_saved_by_mxnets_model_zoo_loads_and_saves_back_unchanged(tmp_path):
    net = vision.mobilenet0_25(classes=16)
    net.load_parameters(str(GOLDEN))
    io = np.load(GOLDEN_IO)
    out = net(mx.nd.array(io["data"])).asnumpy()
    np.testing.assert_allclose(out, io["out"], rtol=1e-4, atol=1e-5)
    net.save_parameters(str(tmp_path / "again.params"))
    assert (tmp_path / "again.params").read_bytes() == GOLDEN.read_bytes()


def test_mxnets_export_of_the_same_network_names_our_parameters():
    # The export names parameters by prefix ("arg:mobilenet0_conv0_weight"): ours match.
    with mx.name.NameManager():
        net = vision.mobilenet0_25(classes=16)
    exported = mx.nd.load(str(DATA / "models" / "mobilenet0.25-0000.params"))
    assert sorted(k.split(":", 1)[1] for k in exported) == sorted(net.collect_params().keys())


def test_pretrained_loads_the_file_under_mxnets_name(monkeypatch, tmp_path):
    # MXNet's published pretrained files are not redistributed: the golden file stands in for
    # MobileNet 0.25's (16 classes), registered under its own SHA-1.
    name = "mobilenet0.25"
    sha1 = hashlib.sha1(GOLDEN.read_bytes()).hexdigest()
    monkeypatch.setitem(model_store._model_sha1, name, sha1)
    path = tmp_path / f"{name}-{sha1[:8]}.params"
    path.write_bytes(GOLDEN.read_bytes())
    assert model_store.get_model_file(name, root=str(tmp_path)) == str(path)

    net = vision.get_model(name, pretrained=True, classes=16, root=str(tmp_path), ctx=mx.cpu())
    io = np.load(GOLDEN_IO)
    np.testing.assert_allclose(net(mx.nd.array(io["data"])).asnumpy(), io["out"], rtol=1e-4,
                               atol=1e-5)
    model_store.purge(str(tmp_path))
    assert not list(tmp_path.glob("*.params"))
