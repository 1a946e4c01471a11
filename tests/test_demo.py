"""``mxlite demo``: the seed workflow on synthetic data, in the folder it is given."""

from __future__ import annotations

import numpy as np

from mxlite.demo import run_demo


def test_demo_runs_the_seed_workflow(tmp_path):
    lines: list[str] = []
    out = run_demo(tmp_path, echo=lines.append)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "gluon_mlp-0005.params", "gluon_mlp-symbol.json", "gluon_mlp.params",
        "mx_mlp-0001.params", "mx_mlp-0002.params", "mx_mlp-0003.params",
        "mx_mlp-0004.params", "mx_mlp-0005.params", "mx_mlp-symbol.json", "symbol-c.json",
        "temp.ndarray"]
    assert out["c2"].tojson() == out["c"].tojson()
    np.testing.assert_array_equal(out["values"], np.ones((2, 3), np.float32))
    assert list(out["loaded"]) == ["a", "b"]
    assert (tmp_path / "temp.ndarray").stat().st_size == 178
    assert out["tojson_equal"] is True
    assert out["final_accuracy"] > 0.8 and out["epoch3_accuracy"] > 0.7
    assert [ln.strip().partition("=")[0] for ln in lines if "Train-accuracy" in ln] == [
        f"Epoch[{i}] Train-accuracy" for i in range(5)]
    assert sum("Saved checkpoint to" in ln for ln in lines) == 5
    assert any(ln.startswith(f"validation accuracy: {out['final_accuracy']:.4f} after epoch 5")
               for ln in lines)
    # The Gluon form of the same workflow.
    assert out["gluon_accuracy"] > 0.8
    assert out["gluon_same_params"] is True
    assert out["gluon_import_diff"] < 1e-6
    assert out["gluon_export_args"] == [
        "hybridsequential0_dense0_bias", "hybridsequential0_dense0_weight",
        "hybridsequential0_dense1_bias", "hybridsequential0_dense1_weight"]
    assert sum("mean loss=" in ln for ln in lines) == 5
    assert lines[-1].startswith(f"Gluon validation accuracy: {out['gluon_accuracy']:.4f}")
