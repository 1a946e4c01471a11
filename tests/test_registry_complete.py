"""The registry is whole: every operator runs forward, and backward unless MXNet has none."""

from __future__ import annotations

import importlib

from mxlite.ops import _families, registry

# MXNet registers no gradient for these: the creation and sampling ops take no inputs to
# differentiate, and _grad_add, _histogram, argmax_channel and batch_take are declared
# non-differentiable. A family adds its own such names in a module-level NO_BACKWARD set.
NO_BACKWARD = {"_eye", "_linspace", "_random_uniform", "_random_normal", "_random_randint",
               "_grad_add", "_histogram", "argmax_channel", "batch_take"}
for _name in dir(_families):
    _mod = getattr(_families, _name)
    if getattr(_mod, "__name__", "").startswith("mxlite.ops."):
        NO_BACKWARD |= set(getattr(importlib.import_module(_mod.__name__), "NO_BACKWARD", ()))


def test_every_operator_has_a_forward_kernel():
    assert [n for n, op in registry.all_ops().items() if op.forward is None] == []


def test_every_differentiable_operator_has_a_backward_kernel():
    missing = {n for n, op in registry.all_ops().items() if op.backward is None}
    assert missing == NO_BACKWARD


def test_every_operator_infers_shapes_and_types():
    ops = registry.all_ops().values()
    assert [op.name for op in ops if op.infer_shape is None] == []
