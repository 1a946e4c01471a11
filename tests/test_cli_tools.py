"""``mxlite --version``, ``summary``, ``diff``, ``graph`` and ``convert``: their output, exit
codes, and one clear line (never a traceback) on bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite import cli

CNN = str(DATA / "viz" / "cnn-symbol.json")
MLP = str(DATA / "viz" / "mlp-symbol.json")
PARAMS = DATA / "module" / "mx_mlp-0003.params"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out == f"mxlite {mx.__version__}\n"


def test_summary_counts_parameters_and_flops(capsys):
    code, out, _ = run(capsys, "summary", CNN, "--shape", "data=2,3,16,16")
    assert code == 0
    lines = out.splitlines()
    conv1 = next(line for line in lines if line.startswith("conv1(Convolution)"))
    assert conv1.split()[1:5] == ["2x8x16x16", "224", "221.18K", "data"]
    assert lines[-1] == ("Layers: 10   Params: 1,901 (1.90K, 0.01 MiB as float32)   "
                         "FLOPs: 327.69K for data=(2, 3, 16, 16)")


def test_summary_mxnet_table(capsys):
    code, out, _ = run(capsys, "summary", CNN, "--shape", "data=2,3,16,16", "--mxnet")
    assert code == 0
    assert out == (DATA / "viz" / "cnn.summary.txt").read_text()


@pytest.mark.parametrize("argv, message", [
    (["summary", CNN], "needs the input shapes"),
    (["summary", CNN, "--shape", "data=a,b"], "expected NAME=D0,D1"),
    (["summary", "missing-symbol.json", "--shape", "data=1"], "missing-symbol.json"),
    (["graph", "missing-symbol.json", "-o", "x.dot"], "missing-symbol.json"),
    (["convert", "missing.params", "x.npz"], "missing.params"),
    (["convert", str(PARAMS), "x.weird"], "cannot tell the format"),
])
def test_bad_input_is_one_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err
    assert "Traceback" not in err


def test_diff_arrays(tmp_path, capsys):
    assert run(capsys, "diff", str(PARAMS), str(PARAMS)) == (0, "same\n", "")
    params = mx.nd.load(str(PARAMS))
    bias = params["arg:fc2_bias"].asnumpy()
    bias[3] += 0.5
    params["arg:fc2_bias"] = mx.nd.array(bias)
    params["extra"] = mx.nd.zeros(2)
    del params["arg:fc1_bias"]
    mx.nd.save(str(tmp_path / "b.params"), params)
    code, out, _ = run(capsys, "diff", str(PARAMS), str(tmp_path / "b.params"))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"only in {PARAMS}: arg:fc1_bias"
    assert lines[1] == f"only in {tmp_path / 'b.params'}: extra"
    assert lines[2].startswith("arg:fc2_bias: values differ in 1 of 10; max abs 0.5 at (3,)")
    code, out, _ = run(capsys, "diff", str(tmp_path / "b.params"), str(tmp_path / "b.params"),
                       "-q")
    assert (code, out) == (0, "")
    # across formats: a converted file is the same
    cli.main(["convert", str(PARAMS), str(tmp_path / "m.safetensors")])
    assert run(capsys, "diff", str(PARAMS), str(tmp_path / "m.safetensors"))[0] == 0


def test_diff_tolerances(tmp_path, capsys):
    mx.nd.save(str(tmp_path / "a.params"), {"w": mx.nd.array([1.0, 2.0])})
    mx.nd.save(str(tmp_path / "b.params"), {"w": mx.nd.array([1.0, 2.001])})
    a, b = str(tmp_path / "a.params"), str(tmp_path / "b.params")
    assert run(capsys, "diff", a, b)[0] == 1
    assert run(capsys, "diff", a, b, "--atol", "0.01")[0] == 0
    assert run(capsys, "diff", a, b, "--rtol", "0.001")[0] == 0


def test_diff_graphs(capsys, tmp_path):
    assert run(capsys, "diff", CNN, CNN)[0] == 0
    doc = json.loads(mx.sym.load(CNN).tojson())
    next(n for n in doc["nodes"] if n["name"] == "conv1")["attrs"]["num_filter"] = "16"
    (tmp_path / "c-symbol.json").write_text(json.dumps(doc))
    code, out, _ = run(capsys, "diff", CNN, str(tmp_path / "c-symbol.json"))
    assert code == 1
    assert out.splitlines() == ["node conv1: attr num_filter = '8' vs '16'"]
    code, out, _ = run(capsys, "diff", CNN, MLP)
    assert code == 1 and "only in" in out
    code, _, err = run(capsys, "diff", CNN, str(PARAMS))
    assert code == 2 and "cannot compare an array file with a graph" in err


def test_graph_writes_dot_source(tmp_path, capsys):
    pytest.importorskip("graphviz")
    out = tmp_path / "net.dot"
    assert run(capsys, "graph", CNN, "-o", str(out), "--shape", "data=1,3,16,16")[0] == 0
    text = out.read_text()
    assert text.startswith("digraph net {")
    assert 'conv1 -> data [label="3x16x16" arrowtail=open dir=back]' in text
    assert "conv1_weight" not in text
    run(capsys, "graph", CNN, "-o", str(out), "--show-weights")
    assert "conv1_weight" in out.read_text()


def test_graph_renders_or_says_graphviz_is_missing(tmp_path, capsys):
    pytest.importorskip("graphviz")
    code, _, err = run(capsys, "graph", MLP, "-o", str(tmp_path / "net.svg"))
    if shutil.which("dot"):
        assert code == 0 and (tmp_path / "net.svg").read_bytes().lstrip().startswith(b"<")
    else:
        assert code == 1 and "Graphviz programs (dot)" in err


def test_convert_round_trip(tmp_path, capsys):
    for fmt in ("safetensors", "npz"):
        assert run(capsys, "convert", str(PARAMS), str(tmp_path / f"m.{fmt}"))[0] == 0
        assert run(capsys, "convert", str(tmp_path / f"m.{fmt}"),
                   str(tmp_path / f"{fmt}.params"))[0] == 0
        assert (tmp_path / f"{fmt}.params").read_bytes() == PARAMS.read_bytes()
    assert run(capsys, "convert", str(PARAMS), str(tmp_path / "x.data"), "--to", "npz")[0] == 0
    with np.load(tmp_path / "x.data") as z:
        assert "arg:fc1_weight" in z.files


def test_convert_symbol_to_onnx(tmp_path, capsys):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(0)
    params = {"arg:fc1_weight": rng.standard_normal((128, 100)),
              "arg:fc1_bias": rng.standard_normal(128),
              "arg:fc2_weight": rng.standard_normal((10, 128))}
    mx.nd.save(str(tmp_path / "mlp-0000.params"),
               {k: mx.nd.array(v, dtype="float32") for k, v in params.items()})
    code, _, err = run(capsys, "convert", MLP, str(tmp_path / "mlp.onnx"), "--params",
                       str(tmp_path / "mlp-0000.params"), "--shape", "data=2,100")
    assert (code, err) == (0, "")
    x = rng.standard_normal((2, 100)).astype(np.float32)
    sess = ort.InferenceSession(str(tmp_path / "mlp.onnx"))
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    h = np.maximum(x @ params["arg:fc1_weight"].T + params["arg:fc1_bias"], 0)
    logits = h @ params["arg:fc2_weight"].T
    want = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(got, want / want.sum(1, keepdims=True), rtol=1e-4, atol=1e-6)
    code, _, err = run(capsys, "convert", MLP, str(tmp_path / "x.onnx"))
    assert code == 1 and "needs the parameter file" in err
