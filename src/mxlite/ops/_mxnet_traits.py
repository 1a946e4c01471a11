"""Facts of MXNet 1.9.1's operator registrations that mxlite's kernels do not carry, read
from its sources (``src/operator``) and kept to the operators mxlite registers. Asked by
operator (its name or any alias), so an operator is still described in one place: its
registry entry, and these sets for the two MXNet traits that only change what the executor
reports or requires.
"""

from __future__ import annotations

from typing import Any

__all__ = ["UNNAMED_INPUTS", "ZERO_GRADIENT", "named_inputs", "zero_gradient"]

# Operators registered without ``FListInputNames``: the executor's monitor
# (``set_monitor_callback(..., monitor_all=True)``) names their inputs ``<node>_input<i>``
# (``relu``, ``Activation``, ``Reshape``, the scalar arithmetic, the reductions...), whose
# inputs have names only in their documentation; other operators' ``<node>_<input name>``.
UNNAMED_INPUTS = frozenset({
    "Activation", "BlockGrad", "Cast", "Flatten", "Reshape", "SoftmaxActivation", "_DivScalar",
    "_EqualScalar", "_GreaterEqualScalar", "_GreaterScalar", "_HypotScalar",
    "_LesserEqualScalar", "_LesserScalar", "_LogicalAndScalar", "_LogicalOrScalar",
    "_LogicalXorScalar", "_MaximumScalar", "_MinimumScalar", "_MinusScalar", "_ModScalar",
    "_MulScalar", "_NotEqualScalar", "_PlusScalar", "_PowerScalar", "_RDivScalar",
    "_RMinusScalar", "_RModScalar", "_RPowerScalar", "_adamw_update", "_arange",
    "_contrib_AdaptiveAvgPooling2D", "_contrib_arange_like", "_contrib_bipartite_matching",
    "_contrib_box_nms", "_contrib_box_non_maximum_suppression", "_contrib_div_sqrt_dim",
    "_contrib_getnnz", "_contrib_gradientmultiplier", "_contrib_round_ste",
    "_contrib_sign_ste", "_copy", "_crop_assign_scalar", "_div_scalar", "_equal_scalar",
    "_eye", "_full", "_greater_equal_scalar", "_greater_scalar", "_hypot_scalar",
    "_image_adjust_lighting", "_image_crop", "_image_flip_left_right",
    "_image_flip_top_bottom", "_image_random_brightness", "_image_random_color_jitter",
    "_image_random_contrast", "_image_random_flip_left_right", "_image_random_flip_top_bottom",
    "_image_random_hue", "_image_random_lighting", "_image_random_saturation", "_image_resize",
    "_lesser_equal_scalar", "_lesser_scalar", "_linspace", "_logical_and_scalar",
    "_logical_or_scalar", "_logical_xor_scalar", "_maximum_scalar", "_minimum_scalar",
    "_minus_scalar", "_mod_scalar", "_mp_adamw_update", "_mul_scalar", "_not_equal_scalar",
    "_npi_add_scalar", "_npi_arange", "_npi_argmax", "_npi_argmin", "_npi_argsort",
    "_npi_cast", "_npi_clip", "_npi_expand_dims", "_npi_full", "_npi_hypot_scalar",
    "_npi_linspace", "_npi_maximum_scalar", "_npi_minimum_scalar", "_npi_mod_scalar",
    "_npi_multiply_scalar", "_npi_ones", "_npi_power_scalar", "_npi_random_randint",
    "_npi_rmod_scalar", "_npi_rpower_scalar", "_npi_rsubtract_scalar",
    "_npi_rtrue_divide_scalar", "_npi_shuffle", "_npi_slice", "_npi_slice_assign_scalar",
    "_npi_sort", "_npi_subtract_scalar", "_npi_true_divide_scalar", "_npi_zeros",
    "_npx__image_adjust_lighting", "_npx__image_crop", "_npx__image_flip_left_right",
    "_npx__image_flip_top_bottom", "_npx__image_random_brightness",
    "_npx__image_random_color_jitter", "_npx__image_random_contrast",
    "_npx__image_random_flip_left_right", "_npx__image_random_flip_top_bottom",
    "_npx__image_random_hue", "_npx__image_random_lighting", "_npx__image_random_saturation",
    "_npx__image_resize", "_npx_activation", "_npx_arange_like", "_npx_cast", "_npx_erf",
    "_npx_erfinv", "_npx_gammaln", "_npx_relu", "_npx_shape_array", "_npx_sigmoid",
    "_npx_slice", "_npx_smooth_l1", "_npx_topk", "_ones", "_plus_scalar", "_power_scalar",
    "_random_exponential", "_random_exponential_like", "_random_gamma", "_random_gamma_like",
    "_random_generalized_negative_binomial", "_random_generalized_negative_binomial_like",
    "_random_negative_binomial", "_random_negative_binomial_like", "_random_normal",
    "_random_normal_like", "_random_poisson", "_random_poisson_like", "_random_randint",
    "_random_uniform", "_random_uniform_like", "_rdiv_scalar", "_rminus_scalar",
    "_rmod_scalar", "_rpower_scalar", "_sample_multinomial", "_sample_unique_zipfian",
    "_shuffle", "_slice_assign_scalar", "_sparse_adam_update", "_sparse_arccos",
    "_sparse_arccosh", "_sparse_cast_storage", "_sparse_clip", "_sparse_cos", "_sparse_cosh",
    "_sparse_exp", "_sparse_ftrl_update", "_sparse_gammaln", "_sparse_log", "_sparse_log10",
    "_sparse_log2", "_sparse_make_loss", "_sparse_mean", "_sparse_norm", "_sparse_rsqrt",
    "_sparse_sgd_mom_update", "_sparse_sgd_update", "_sparse_sigmoid", "_sparse_slice",
    "_sparse_stop_gradient", "_sparse_sum", "_sparse_zeros_like", "_square_sum", "_zeros",
    "abs", "adam_update", "amp_cast", "arccos", "arccosh", "arcsin", "arcsinh", "arctan",
    "arctanh", "argmax", "argmax_channel", "argmin", "argsort", "broadcast_axes",
    "broadcast_axis", "broadcast_to", "cast", "cast_storage", "cbrt", "ceil", "clip", "cos",
    "cosh", "crop", "degrees", "erf", "erfinv", "exp", "expand_dims", "expm1", "fix", "floor",
    "ftml_update", "ftrl_update", "gammaln", "hard_sigmoid", "identity", "log", "log10",
    "log1p", "log2", "logical_not", "make_loss", "max", "max_axis", "mean", "min", "min_axis",
    "nag_mom_update", "nanprod", "nansum", "negative", "norm", "ones_like", "prod", "radians",
    "random_exponential", "random_gamma", "random_generalized_negative_binomial",
    "random_negative_binomial", "random_normal", "random_poisson", "random_randint",
    "random_uniform", "rcbrt", "reciprocal", "relu", "reshape", "rint", "rmsprop_update",
    "rmspropalex_update", "round", "rsqrt", "sample_multinomial", "sgd_mom_update",
    "sgd_update", "shape_array", "shuffle", "sigmoid", "sign", "signsgd_update",
    "signum_update", "sin", "sinh", "size_array", "slice", "slice_axis", "smooth_l1",
    "softmin", "softsign", "sort", "sqrt", "square", "stop_gradient", "sum", "sum_axis", "tan",
    "tanh", "topk", "transpose", "trunc", "zeros_like"
})

# Operators whose MXNet gradient never reads the head gradient: FGradient is
# MakeZeroGradNodes (comparisons, logic, rounding, index results, shape queries), or a
# legacy operator whose DeclareBackwardDependency lists no out_grad (Proposal, MultiProposal,
# MultiBoxTarget). Executor.backward copies a head gradient only into the backward graph's
# inputs, so one reaching the arguments only through these is neither required nor checked.
ZERO_GRADIENT = frozenset({
    # comparisons and logic, elementwise, broadcast and scalar
    *(f"{p}{n}{s}" for p in ("_", "broadcast_")
      for n in ("equal", "not_equal", "greater", "greater_equal", "lesser", "lesser_equal",
                "logical_and", "logical_or", "logical_xor")
      for s in (("", "_scalar") if p == "_" else ("",))),
    *(f"_npi_{n}{s}" for n in ("equal", "not_equal", "greater", "greater_equal", "less",
                               "less_equal", "logical_and", "logical_or", "logical_xor",
                               "bitwise_and", "bitwise_or", "bitwise_xor", "lcm")
      for s in ("", "_scalar")),
    "logical_not", "_npi_logical_not", "_npi_bitwise_not",
    # rounding: piecewise constant
    "ceil", "floor", "fix", "rint", "round", "trunc",
    "_npi_ceil", "_npi_floor", "_npi_fix", "_npi_rint", "_npi_trunc", "_npi_around",
    "_npi_isnan", "_npi_isinf", "_npi_isfinite", "_npi_isposinf", "_npi_isneginf",
    # results that are indices, shapes or constants
    "argmax", "argmin", "argsort", "_npi_argmax", "_npi_argmin", "_np_all", "_np_any",
    "shape_array", "size_array", "zeros_like", "ones_like", "one_hot", "BlockGrad",
    "stop_gradient", "_contrib_arange_like", "_contrib_index_array", "_contrib_box_encode",
    "_contrib_box_decode", "_ravel_multi_index", "_unravel_index", "_npi_bincount",
    "_npx_nonzero", "_npi_unique", "_npx_constraint_check",
    # legacy operators with an empty DeclareBackwardDependency
    "_contrib_Proposal", "_contrib_MultiProposal", "_contrib_MultiBoxTarget",
})


def _is_in(op: Any, names: frozenset) -> bool:
    return op.name in names or any(a in names for a in op.aliases)


def named_inputs(op: Any) -> bool:
    """Whether MXNet's monitor names ``op``'s inputs by their names (not ``input<i>``)."""
    return not _is_in(op, UNNAMED_INPUTS)


def zero_gradient(op: Any) -> bool:
    """Whether MXNet's gradient of ``op`` is zeros, never reading the head gradient."""
    return _is_in(op, ZERO_GRADIENT)
