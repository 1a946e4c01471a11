"""mx.metric against numbers MXNet 1.9.1 printed for the same inputs (hard-coded below)."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest

import mxlite.metric as metric
from mxlite.base import MXNetError
from mxlite.ndarray.ndarray import array as A

B1 = ([A([0, 1, 1, 0, 1])], [A([[0.3, 0.7], [0.0, 1.0], [0.4, 0.6], [0.8, 0.2], [0.55, 0.45]])])
B2 = ([A([1, 0, 0])], [A([[0.1, 0.9], [0.6, 0.4], [0.2, 0.8]])])
M1 = ([A([3, 0, 1, 1, 2])], [A([[0.1, 0.2, 0.3, 0.4], [0.5, 0.2, 0.2, 0.1],
                                 [0.25, 0.25, 0.3, 0.2], [0.05, 0.9, 0.03, 0.02],
                                 [0.3, 0.3, 0.2, 0.2]])])
M2 = ([A([2, 2, 0])], [A([[0.2, 0.1, 0.6, 0.1], [0.7, 0.1, 0.1, 0.1], [0.4, 0.3, 0.2, 0.1]])])
# Top-k inputs without tied scores: MXNet's argpartition breaks ties as numpy's version does.
T1 = ([A([3, 0, 1, 1, 2])], [A([[0.1, 0.2, 0.3, 0.4], [0.5, 0.25, 0.15, 0.1],
                                 [0.22, 0.28, 0.3, 0.2], [0.05, 0.9, 0.03, 0.02],
                                 [0.31, 0.29, 0.22, 0.18]])])
T2 = ([A([2, 2, 0])], [A([[0.2, 0.12, 0.6, 0.08], [0.7, 0.1, 0.15, 0.05], [0.4, 0.3, 0.2, 0.1]])])
R1 = ([A([2.5, 0.0, 2, 8])], [A([3, -0.5, 2, 7])])
R2 = ([A([[1.5], [2.25], [-1]])], [A([[1.0], [2.0], [0.5]])])


def _abs_sum(label, pred):
    return float(np.abs(label - pred).sum())


# name -> (metric, batch 1, batch 2, (get after batch 1, get_global after batch 1,
#          get after reset_local + batch 2, get_global after batch 2)) as MXNet 1.9.1 gives them
CASES = {
    "acc": ("acc", B1, B2, (0.6, 0.6, 0.6666666666666666, 0.625)),
    "acc-multi": ("acc", M1, M2, (0.6, 0.6, 0.6666666666666666, 0.625)),
    "top2": (lambda: metric.TopKAccuracy(top_k=2), T1, T2, (0.8, 0.8, 1.0, 0.875)),
    "top3": (lambda: metric.TopKAccuracy(top_k=3), T1, T2, (1.0, 1.0, 1.0, 1.0)),
    "f1": ("f1", B1, B2, (0.6666666666666666,) * 4),
    "f1-micro": (lambda: metric.F1(average="micro"), B1, B2,
                 (0.6666666666666666, 0.6666666666666666, 0.6666666666666666,
                  0.6666666666666665)),
    "mcc": ("mcc", B1, B2, (0.16666666666666666, 0.16666666666666666, 0.5, 0.3333333333333333)),
    "mcc-micro": (lambda: metric.MCC(average="micro"), B1, B2,
                  (0.16666666666666666, 0.16666666666666666, 0.5, 0.2581988897471611)),
    "perplexity": (lambda: metric.Perplexity(ignore_label=None), M1, M2,
                   (2.565378809106712, 2.565378809106712, 3.466806453082441,
                    2.8720585418035363)),
    "perplexity-ignore2": (lambda: metric.Perplexity(ignore_label=2), M1, M2,
                           (2.171185222323167, 2.171185222323167, 2.4999999214037096,
                            2.233291939862143)),
    "mae": ("mae", R1, R2, (0.5, 0.5, 0.75, 0.625)),
    "mse": ("mse", R1, R2, (0.375, 0.375, 0.8541666865348816, 0.6145833432674408)),
    "rmse": ("rmse", R1, R2, (0.6123724579811096, 0.6123724579811096, 0.9242113828659058,
                              0.7682919204235077)),
    "ce": ("ce", M1, M2, (0.9421061515808106, 0.9421061515808106, 1.2432338396708171,
                          1.055029034614563)),
    "nll_loss": ("nll_loss", M1, M2, (0.9421061515808106, 0.9421061515808106,
                                      1.2432338396708171, 1.055029034614563)),
    "ce-eps": (lambda: metric.CrossEntropy(eps=0.1), M1, M2,
               (0.6915535449981689, 0.6915535449981689, 0.8864200115203857,
                0.7646284699440002)),
    "pearsonr": ("pearsonr", R1, R2, (0.9848696184482703, 0.9848696184482703,
                                      0.8816095250015644, 0.9332395717249173)),
    # MXNet's micro Pearson keeps no global sum, so its global value is 0.
    "pearsonr-micro": (lambda: metric.PearsonCorrelation(average="micro"), R1, R2,
                       (0.9848696184482703, 0.0, 0.9653857857088841, 0.0)),
    "pcc": ("pcc", M1, M2, (0.5, 0.5, 0.5, 0.5232681184722836)),
    "loss": ("loss", R1, R2, (2.875, 2.875, 1.1666666666666667, 2.142857142857143)),
    "np-lambda": (lambda: metric.np(lambda l, p: float(np.abs(l - p).sum())), R1, R2,
                  (2.0, 2.0, 2.25, 2.125)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_against_mxnet(case):
    make, b1, b2, expected = CASES[case]
    m = metric.create(make) if isinstance(make, str) else make()
    m.update(*b1)
    got = [m.get()[1], m.get_global()[1]]
    m.reset_local()
    m.update(*b2)
    got += [m.get()[1], m.get_global()[1]]
    # exact: the arrays are too small for summation order to differ from MXNet's kernels
    assert got == list(expected)


def test_exact_integer_metrics():
    acc = metric.Accuracy()
    acc.update(*B1)
    assert (acc.sum_metric, acc.num_inst) == (3, 5)
    assert acc.get() == ("accuracy", 0.6)
    assert acc.get_name_value() == [("accuracy", 0.6)]
    assert str(acc) == "EvalMetric: {'accuracy': 0.6}"
    top = metric.TopKAccuracy(top_k=3)
    assert top.name == "top_k_accuracy_3"
    top.update(*T1)
    assert (top.sum_metric, top.num_inst) == (5, 5)
    top = metric.TopKAccuracy(top_k=2)
    top.update(*T2)
    assert (top.sum_metric, top.num_inst) == (3, 3)
    with pytest.raises(ValueError, match="exceeds"):
        metric.TopKAccuracy(top_k=5).update(*T1)


def test_accuracy_axis_and_class_id_predictions():
    acc = metric.Accuracy(axis=0)
    acc.update([A([1, 0])], [A([[0.1, 0.9], [0.8, 0.2]])])  # argmax over axis 0: [1, 0]
    assert acc.get() == ("accuracy", 1.0)
    acc = metric.Accuracy()
    acc.update([A([1, 2, 3])], [A([1, 2, 0])])  # same shape: predictions are class ids
    assert acc.get() == ("accuracy", 2 / 3)


def test_nan_before_update_and_reset():
    for m in (metric.Accuracy(), metric.F1(), metric.Perplexity(None), metric.MSE()):
        assert math.isnan(m.get()[1])
        assert math.isnan(m.get_global()[1])
    acc = metric.Accuracy()
    acc.update(*B1)
    acc.reset()
    assert (acc.num_inst, acc.sum_metric, acc.global_num_inst, acc.global_sum_metric) == \
        (0, 0.0, 0, 0.0)


def test_composite_and_config():
    c = metric.create(["acc", "f1", metric.MAE()])
    assert isinstance(c, metric.CompositeEvalMetric)
    c.update(*B1)
    assert c.get() == (["accuracy", "f1", "mae"], [0.6, 0.6666666666666666, 0.5])
    assert c.get_name_value() == [("accuracy", 0.6), ("f1", 0.6666666666666666), ("mae", 0.5)]
    config = c.get_config()
    assert config == {
        "metric": "CompositeEvalMetric", "name": "composite", "output_names": None,
        "label_names": None, "metrics": [
            {"axis": 1, "metric": "Accuracy", "name": "accuracy", "output_names": None,
             "label_names": None},
            {"metric": "F1", "name": "f1", "output_names": None, "label_names": None},
            {"metric": "MAE", "name": "mae", "output_names": None, "label_names": None}]}
    rebuilt = metric.create(**config)
    assert [type(m).__name__ for m in rebuilt.metrics] == ["Accuracy", "F1", "MAE"]
    assert metric.create('["acc", {"axis": 0}]').axis == 0
    assert metric.create('{"metric": "mse"}').name == "mse"
    assert c.get_metric(1).name == "f1"
    with pytest.raises(MXNetError, match="out of range"):
        c.get_metric(5)


def test_update_dict_selects_names():
    acc = metric.Accuracy(output_names=["out"], label_names=["lab"])
    acc.update_dict({"lab": B1[0][0], "other": A([9, 9, 9])},
                    {"out": B1[1][0], "junk": A([0])})
    assert acc.get() == ("accuracy", 0.6)
    c = metric.CompositeEvalMetric(["acc"], label_names=["lab"], output_names=["out"])
    c.update_dict({"lab": B1[0][0], "x": A([1])}, {"out": B1[1][0], "y": A([1])})
    assert c.get() == (["accuracy"], [0.6])
    with pytest.raises(MXNetError, match="'lab'"):
        acc.update_dict({"nope": B1[0][0]}, {"out": B1[1][0]})


@pytest.mark.parametrize("name, cls, metric_name", [
    ("acc", "Accuracy", "accuracy"), ("accuracy", "Accuracy", "accuracy"),
    ("ce", "CrossEntropy", "cross-entropy"), ("crossentropy", "CrossEntropy", "cross-entropy"),
    ("f1", "F1", "f1"), ("mse", "MSE", "mse"), ("rmse", "RMSE", "rmse"), ("mae", "MAE", "mae"),
    ("nll_loss", "NegativeLogLikelihood", "nll-loss"),
    ("negativeloglikelihood", "NegativeLogLikelihood", "nll-loss"),
    ("pearsonr", "PearsonCorrelation", "pearsonr"), ("loss", "Loss", "loss"),
    ("composite", "CompositeEvalMetric", "composite"), ("mcc", "MCC", "mcc"),
    ("pcc", "PCC", "pcc"), ("torch", "Torch", "torch"), ("caffe", "Caffe", "caffe"),
    ("ACC", "Accuracy", "accuracy"),
])
def test_registered_names(name, cls, metric_name):
    m = metric.create(name)
    assert (type(m).__name__, m.name) == (cls, metric_name)


def test_names_needing_arguments():
    assert metric.create("top_k_accuracy", 2).name == "top_k_accuracy_2"
    assert metric.create("top_k_acc", top_k=5).name == "top_k_accuracy_5"
    assert metric.create("perplexity", -1).ignore_label == -1
    with pytest.raises(MXNetError, match="not registered"):
        metric.create("no-such-metric")
    with pytest.raises(MXNetError, match="Accuracy"):
        metric.TopKAccuracy(top_k=1)


def test_custom_metric_names_and_tuples():
    m = metric.create(_abs_sum)
    assert isinstance(m, metric.CustomMetric) and m.name == "_abs_sum"
    assert metric.CustomMetric(lambda a, b: 0).name == "custom(<lambda>)"
    m = metric.CustomMetric(lambda label, pred: (float(np.abs(label - pred).sum()), label.size),
                            name="tuple")
    m.update(*R1)
    assert (m.sum_metric, m.num_inst) == (2.0, 4)
    assert m.get() == ("tuple", 0.5)
    with pytest.raises(NotImplementedError):
        m.get_config()
    # allow_extra_outputs: more predictions than labels are accepted
    m = metric.np(_abs_sum, allow_extra_outputs=True)
    m.update(R1[0], R1[1] + [A([0.0])])
    assert m.get() == ("_abs_sum", 2.0)


def test_shape_mismatches_raise():
    with pytest.raises(ValueError, match="does not match"):
        metric.Accuracy().update([A([0, 1])], [A([[0.1, 0.9]]), A([[0.1, 0.9]])])
    with pytest.raises(MXNetError, match="does not match"):
        metric.Accuracy().update([A([0, 1, 1])], [A([[0.1, 0.9], [0.2, 0.8]])])
    with pytest.raises(MXNetError, match="binary"):
        metric.F1().update([A([0, 1, 2])], [A([[0.1, 0.9]] * 3)])
    with pytest.raises(MXNetError, match="shape"):
        metric.Perplexity(None).update([A([0, 1])], [A(np.ones((2, 3, 4)))])
    with pytest.raises(MXNetError, match="out of range"):
        metric.CrossEntropy().update([A([5])], [A([[0.5, 0.5]])])
    assert metric.check_label_shapes([1, 2], [3, 4]) == ([1, 2], [3, 4])
    labels, preds = metric.check_label_shapes(A([1]), A([2]), wrap=True)
    assert isinstance(labels, list) and isinstance(preds, list)


def test_global_survives_reset_local():
    m = metric.MSE()
    m.update(*R1)
    m.reset_local()
    assert math.isnan(m.get()[1])
    assert m.get_global() == ("mse", 0.375)
    assert m.get_global_name_value() == [("mse", 0.375)]


def test_loss_accepts_bare_ndarray():
    m = metric.Loss()
    m.update(None, A([1.0, 2.0, 3.0, 6.0]))
    assert (m.sum_metric, m.num_inst, m.get()) == (12.0, 4, ("loss", 3.0))


def test_no_logging_side_effects(caplog):
    with caplog.at_level(logging.DEBUG):
        metric.Accuracy().update(*B1)
    assert caplog.records == []
