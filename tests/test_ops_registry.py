"""The registry's contract for every operator family: names and aliases, parameter parsing,
backward shape inference, error messages and the forward kernels already present.

Tables below were produced by MXNet 1.9.1 itself (``MXSymbolGetAtomicSymbolInfo`` for the
signatures, one-node graphs for the inference rows, ``mx.nd`` calls for the kernel rows) and
are kept verbatim.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mxlite.base import MXNetError
from mxlite.ops import registry
from mxlite.ops._mxnet_names import NAMES as MXNET_NAMES
from mxlite.ops.registry import REQUIRED, OpContext

inf, nan = math.inf, math.nan  # as the generated tables spell them

# --- BEGIN GENERATED MXNET_SIGNATURES (do not edit by hand)
MXNET_SIGNATURES = {'Activation': (('_npx_activation',), (('act_type', None),)),
 'BatchNorm': (('_npx_batch_norm',),
               (('eps', '0.0010000000474974513'), ('momentum', '0.899999976'),
                ('fix_gamma', '1'), ('use_global_stats', '0'), ('output_mean_var', '0'),
                ('axis', "'1'"), ('cudnn_off', '0'), ('min_calib_range', 'None'),
                ('max_calib_range', 'None'))),
 'BlockGrad': (('_sparse_stop_gradient', 'stop_gradient'), ()),
 'CTCLoss': (('_contrib_CTCLoss', '_contrib_ctc_loss', 'ctc_loss'),
             (('use_data_lengths', '0'), ('use_label_lengths', '0'),
              ('blank_label', "'first'"))),
 'Cast': (('_npi_cast', '_npx_cast', 'cast'), (('dtype', None),)),
 'Concat': (('_sparse_concat', 'concat'), (('num_args', None), ('dim', "'1'"))),
 'Convolution': (('_npx_convolution',),
                 (('kernel', None), ('stride', '[]'), ('dilate', '[]'), ('pad', '[]'),
                  ('num_filter', None), ('num_group', '1'), ('workspace', '1024'),
                  ('no_bias', '0'), ('cudnn_tune', "'None'"), ('cudnn_off', '0'),
                  ('layout', "'None'"))),
 'Deconvolution': (('_npx_deconvolution',),
                   (('kernel', None), ('stride', '[]'), ('dilate', '[]'), ('pad', '[]'),
                    ('adj', '[]'), ('target_shape', '[]'), ('num_filter', None),
                    ('num_group', '1'), ('workspace', '512'), ('no_bias', '1'),
                    ('cudnn_tune', "'None'"), ('cudnn_off', '0'), ('layout', "'None'"))),
 'Dropout': (('_npx_dropout',),
             (('p', '0.5'), ('mode', "'training'"), ('axes', '[]'), ('cudnn_off', '0'))),
 'Embedding': (('_npx_embedding', '_sparse_Embedding'),
               (('input_dim', None), ('output_dim', None), ('dtype', "'float32'"),
                ('sparse_grad', '0'))),
 'Flatten': (('_npx_batch_flatten', 'flatten'), ()),
 'FullyConnected': (('_npx_fully_connected', '_sparse_FullyConnected'),
                    (('num_hidden', None), ('no_bias', '0'), ('flatten', '1'))),
 'GroupNorm': ((),
               (('num_groups', "'1'"), ('eps', '9.99999975e-06'), ('output_mean_var', '0'))),
 'IdentityAttachKLSparseReg': ((),
                               (('sparseness_target', '0.100000001'),
                                ('penalty', '0.00100000005'), ('momentum', '0.899999976'))),
 'InstanceNorm': ((), (('eps', '0.00100000005'),)),
 'L2Normalization': ((), (('eps', '1.00000001e-10'), ('mode', "'instance'"))),
 'LRN': ((), (('alpha', '9.99999975e-05'), ('beta', '0.75'), ('knorm', '2'), ('nsize', None))),
 'LayerNorm': (('_npx_layer_norm',),
               (('axis', "'-1'"), ('eps', '9.99999975e-06'), ('output_mean_var', '0'))),
 'LeakyReLU': (('_npx_leaky_relu',),
               (('act_type', "'leaky'"), ('slope', '0.25'), ('lower_bound', '0.125'),
                ('upper_bound', '0.333999991'))),
 'LinearRegressionOutput': (('_sparse_LinearRegressionOutput',), (('grad_scale', '1'),)),
 'LogisticRegressionOutput': (('_sparse_LogisticRegressionOutput',), (('grad_scale', '1'),)),
 'MAERegressionOutput': (('_sparse_MAERegressionOutput',), (('grad_scale', '1'),)),
 'MakeLoss': ((), (('grad_scale', '1'), ('valid_thresh', '0'), ('normalization', "'null'"))),
 'Pad': (('pad',), (('mode', None), ('pad_width', None), ('constant_value', '0'))),
 'Pooling': (('_npx_pooling',),
             (('kernel', '[]'), ('pool_type', "'max'"), ('global_pool', '0'),
              ('cudnn_off', '0'), ('pooling_convention', "'valid'"), ('stride', '[]'),
              ('pad', '[]'), ('p_value', "'None'"), ('count_include_pad', 'None'),
              ('layout', "'None'"))),
 'Reshape': (('reshape',),
             (('shape', '[]'), ('reverse', '0'), ('target_shape', '[]'),
              ('keep_highest', '0'))),
 'SVMOutput': ((),
               (('margin', '1'), ('regularization_coefficient', '1'), ('use_linear', '0'))),
 'SequenceLast': ((), (('use_sequence_length', '0'), ('axis', "'0'"))),
 'SequenceMask': (('_npx_sequence_mask',),
                  (('use_sequence_length', '0'), ('value', '0'), ('axis', "'0'"))),
 'SequenceReverse': ((), (('use_sequence_length', '0'), ('axis', "'0'"))),
 'SliceChannel': (('split',), (('num_outputs', None), ('axis', "'1'"), ('squeeze_axis', '0'))),
 'SoftmaxActivation': ((), (('mode', "'instance'"),)),
 'SoftmaxOutput': (('Softmax',),
                   (('grad_scale', '1'), ('ignore_label', '-1'), ('multi_output', '0'),
                    ('use_ignore', '0'), ('preserve_shape', '0'), ('normalization', "'null'"),
                    ('out_grad', '0'), ('smooth_alpha', '0'))),
 'SwapAxis': (('_npi_swapaxes', 'swapaxes'), (('dim1', "'0'"), ('dim2', "'0'"))),
 'UpSampling': ((),
                (('scale', None), ('num_filter', "'0'"), ('sample_type', None),
                 ('multi_input_mode', "'concat'"), ('num_args', None), ('workspace', '512'))),
 '_arange': ((),
             (('start', None), ('stop', 'None'), ('step', '1'), ('repeat', "'1'"),
              ('infer_range', '0'), ('ctx', "''"), ('dtype', "'float32'"))),
 '_copy': (('identity',), ()),
 '_div_scalar': (('_DivScalar',), (('scalar', '1'), ('is_int', '1'))),
 '_equal': (('_Equal',), ()),
 '_equal_scalar': (('_EqualScalar',), (('scalar', '1'), ('is_int', '1'))),
 '_eye': ((), (('N', None), ('M', '0'), ('k', '0'), ('ctx', "''"), ('dtype', "'float32'"))),
 '_full': (('_npi_full',),
           (('shape', 'None'), ('ctx', "''"), ('dtype', "'float32'"), ('value', None))),
 '_grad_add': ((), ()),
 '_greater': (('_Greater',), ()),
 '_greater_equal': (('_Greater_Equal',), ()),
 '_greater_equal_scalar': (('_GreaterEqualScalar',), (('scalar', '1'), ('is_int', '1'))),
 '_greater_scalar': (('_GreaterScalar',), (('scalar', '1'), ('is_int', '1'))),
 '_histogram': (('_npi_histogram',), (('bin_cnt', "'None'"), ('range', 'None'))),
 '_hypot': (('_Hypot',), ()),
 '_hypot_scalar': (('_HypotScalar', '_npi_hypot_scalar'), (('scalar', '1'), ('is_int', '1'))),
 '_lesser': (('_Lesser',), ()),
 '_lesser_equal': (('_Lesser_Equal',), ()),
 '_lesser_equal_scalar': (('_LesserEqualScalar',), (('scalar', '1'), ('is_int', '1'))),
 '_lesser_scalar': (('_LesserScalar',), (('scalar', '1'), ('is_int', '1'))),
 '_linspace': (('_npi_linspace',),
               (('start', None), ('stop', None), ('num', None), ('endpoint', '1'),
                ('ctx', "''"), ('dtype', "'float32'"))),
 '_logical_and': (('_Logical_And',), ()),
 '_logical_and_scalar': (('_LogicalAndScalar',), (('scalar', '1'), ('is_int', '1'))),
 '_logical_or': (('_Logical_Or',), ()),
 '_logical_or_scalar': (('_LogicalOrScalar',), (('scalar', '1'), ('is_int', '1'))),
 '_logical_xor': (('_Logical_Xor',), ()),
 '_logical_xor_scalar': (('_LogicalXorScalar',), (('scalar', '1'), ('is_int', '1'))),
 '_maximum': (('_Maximum',), ()),
 '_maximum_scalar': (('_MaximumScalar', '_npi_maximum_scalar'),
                     (('scalar', '1'), ('is_int', '1'))),
 '_minimum': (('_Minimum',), ()),
 '_minimum_scalar': (('_MinimumScalar', '_npi_minimum_scalar'),
                     (('scalar', '1'), ('is_int', '1'))),
 '_minus_scalar': (('_MinusScalar',), (('scalar', '1'), ('is_int', '1'))),
 '_mod': (('_Mod',), ()),
 '_mod_scalar': (('_ModScalar',), (('scalar', '1'), ('is_int', '1'))),
 '_mul_scalar': (('_MulScalar',), (('scalar', '1'), ('is_int', '1'))),
 '_not_equal': (('_Not_Equal',), ()),
 '_not_equal_scalar': (('_NotEqualScalar',), (('scalar', '1'), ('is_int', '1'))),
 '_ones': ((), (('shape', '[]'), ('ctx', "''"), ('dtype', "'float32'"))),
 '_plus_scalar': (('_PlusScalar',), (('scalar', '1'), ('is_int', '1'))),
 '_power': (('_Power',), ()),
 '_power_scalar': (('_PowerScalar',), (('scalar', '1'), ('is_int', '1'))),
 '_random_normal': (('normal', 'random_normal'),
                    (('loc', '0'), ('scale', '1'), ('shape', 'None'), ('ctx', "''"),
                     ('dtype', "'None'"))),
 '_random_randint': (('_npi_random_randint', 'random_randint'),
                     (('low', None), ('high', None), ('shape', 'None'), ('ctx', "''"),
                      ('dtype', "'None'"))),
 '_random_uniform': (('random_uniform', 'uniform'),
                     (('low', '0'), ('high', '1'), ('shape', 'None'), ('ctx', "''"),
                      ('dtype', "'None'"))),
 '_rdiv_scalar': (('_RDivScalar',), (('scalar', '1'), ('is_int', '1'))),
 '_rminus_scalar': (('_RMinusScalar',), (('scalar', '1'), ('is_int', '1'))),
 '_rmod_scalar': (('_RModScalar',), (('scalar', '1'), ('is_int', '1'))),
 '_rpower_scalar': (('_RPowerScalar',), (('scalar', '1'), ('is_int', '1'))),
 '_split_v2': (('_npi_split',),
               (('indices', None), ('axis', "'1'"), ('squeeze_axis', '0'),
                ('sections', "'0'"))),
 '_square_sum': ((), (('axis', 'None'), ('keepdims', '0'), ('exclude', '0'))),
 '_zeros': ((), (('shape', '[]'), ('ctx', "''"), ('dtype', "'float32'"))),
 'abs': (('_sparse_abs',), ()),
 'add_n': (('ElementWiseSum', '_sparse_ElementWiseSum', '_sparse_add_n'),
           (('num_args', None),)),
 'amp_cast': ((), (('dtype', None),)),
 'amp_multicast': ((), (('num_outputs', None), ('cast_narrow', '0'))),
 'arccos': (('_sparse_arccos',), ()),
 'arccosh': (('_sparse_arccosh',), ()),
 'arcsin': (('_sparse_arcsin',), ()),
 'arcsinh': (('_sparse_arcsinh',), ()),
 'arctan': (('_sparse_arctan',), ()),
 'arctanh': (('_sparse_arctanh',), ()),
 'argmax': ((), (('axis', "'None'"), ('keepdims', '0'))),
 'argmax_channel': ((), ()),
 'argmin': ((), (('axis', "'None'"), ('keepdims', '0'))),
 'argsort': (('_npi_argsort',),
             (('axis', "'-1'"), ('is_ascend', '1'), ('dtype', "'float32'"))),
 'batch_dot': (('_npx_batch_dot',),
               (('transpose_a', '0'), ('transpose_b', '0'), ('forward_stype', "'None'"))),
 'batch_take': ((), ()),
 'broadcast_add': (('_sparse_broadcast_add', '_sparse_broadcast_plus', 'broadcast_plus'), ()),
 'broadcast_axis': (('broadcast_axes',), (('axis', '[]'), ('size', '[]'))),
 'broadcast_div': (('_sparse_broadcast_div',), ()),
 'broadcast_equal': ((), ()),
 'broadcast_greater': ((), ()),
 'broadcast_greater_equal': ((), ()),
 'broadcast_hypot': ((), ()),
 'broadcast_lesser': ((), ()),
 'broadcast_lesser_equal': ((), ()),
 'broadcast_like': ((), (('lhs_axes', 'None'), ('rhs_axes', 'None'))),
 'broadcast_logical_and': ((), ()),
 'broadcast_logical_or': ((), ()),
 'broadcast_logical_xor': ((), ()),
 'broadcast_maximum': (('_npi_maximum',), ()),
 'broadcast_minimum': (('_npi_minimum',), ()),
 'broadcast_mod': ((), ()),
 'broadcast_mul': (('_sparse_broadcast_mul',), ()),
 'broadcast_not_equal': ((), ()),
 'broadcast_power': ((), ()),
 'broadcast_sub': (('_sparse_broadcast_minus', '_sparse_broadcast_sub', 'broadcast_minus'),
                   ()),
 'broadcast_to': ((), (('shape', '[]'),)),
 'cast_storage': (('_sparse_cast_storage',), (('stype', None),)),
 'cbrt': (('_sparse_cbrt',), ()),
 'ceil': (('_sparse_ceil',), ()),
 'clip': (('_npi_clip', '_sparse_clip'), (('a_min', None), ('a_max', None))),
 'cos': (('_sparse_cos',), ()),
 'cosh': (('_sparse_cosh',), ()),
 'degrees': (('_sparse_degrees',), ()),
 'depth_to_space': ((), (('block_size', None),)),
 'diag': ((), (('k', "'0'"), ('axis1', "'0'"), ('axis2', "'1'"))),
 'dot': (('_sparse_dot',),
         (('transpose_a', '0'), ('transpose_b', '0'), ('forward_stype', "'None'"))),
 'elemwise_add': (('_Plus', '_add', '_plus', '_sparse_elemwise_add'), ()),
 'elemwise_div': (('_Div', '_div', '_sparse_elemwise_div'), ()),
 'elemwise_mul': (('_Mul', '_mul', '_sparse_elemwise_mul'), ()),
 'elemwise_sub': (('_Minus', '_minus', '_sparse_elemwise_sub', '_sub'), ()),
 'erf': (('_npx_erf',), ()),
 'erfinv': (('_npx_erfinv',), ()),
 'exp': (('_sparse_exp',), ()),
 'expand_dims': (('_npi_expand_dims',), (('axis', None),)),
 'expm1': (('_sparse_expm1',), ()),
 'fix': (('_sparse_fix',), ()),
 'floor': (('_sparse_floor',), ()),
 'gamma': (('_npx_gamma', '_sparse_gamma'), ()),
 'gammaln': (('_npx_gammaln', '_sparse_gammaln'), ()),
 'gather_nd': (('_npi_gather_nd', '_npx_gather_nd'), ()),
 'hard_sigmoid': ((), (('alpha', '0.200000003'), ('beta', '0.5'))),
 'log': (('_sparse_log',), ()),
 'log10': (('_sparse_log10',), ()),
 'log1p': (('_sparse_log1p',), ()),
 'log2': (('_sparse_log2',), ()),
 'log_softmax': (('_npx_log_softmax',),
                 (('axis', "'-1'"), ('temperature', 'None'), ('dtype', "'None'"),
                  ('use_length', '0'))),
 'logical_not': ((), ()),
 'make_loss': (('_sparse_make_loss',), ()),
 'max': (('max_axis',), (('axis', 'None'), ('keepdims', '0'), ('exclude', '0'))),
 'mean': (('_sparse_mean',), (('axis', 'None'), ('keepdims', '0'), ('exclude', '0'))),
 'min': (('min_axis',), (('axis', 'None'), ('keepdims', '0'), ('exclude', '0'))),
 'moments': ((), (('axes', 'None'), ('keepdims', '0'))),
 'nanprod': ((), (('axis', 'None'), ('keepdims', '0'), ('exclude', '0'))),
 'nansum': ((), (('axis', 'None'), ('keepdims', '0'), ('exclude', '0'))),
 'negative': (('_sparse_negative',), ()),
 'norm': (('_sparse_norm',),
          (('ord', "'2'"), ('axis', 'None'), ('out_dtype', "'None'"), ('keepdims', '0'))),
 'one_hot': (('_npx_one_hot',),
             (('depth', None), ('on_value', '1'), ('off_value', '0'), ('dtype', "'float32'"))),
 'ones_like': ((), ()),
 'pick': (('_npx_pick', 'choose_element_0index'),
          (('axis', "'-1'"), ('keepdims', '0'), ('mode', "'clip'"))),
 'prod': ((), (('axis', 'None'), ('keepdims', '0'), ('exclude', '0'))),
 'radians': (('_sparse_radians',), ()),
 'rcbrt': ((), ()),
 'reciprocal': ((), ()),
 'relu': (('_sparse_relu',), ()),
 'repeat': (('_np_repeat',), (('repeats', None), ('axis', "'None'"))),
 'reshape_like': (('_npx_reshape_like',),
                  (('lhs_begin', "'None'"), ('lhs_end', "'None'"), ('rhs_begin', "'None'"),
                   ('rhs_end', "'None'"))),
 'reverse': (('flip',), (('axis', None),)),
 'rint': (('_sparse_rint',), ()),
 'round': (('_sparse_round',), ()),
 'rsqrt': (('_sparse_rsqrt',), ()),
 'scatter_nd': ((), (('shape', None),)),
 'shape_array': (('_npx_shape_array',), ()),
 'sigmoid': (('_sparse_sigmoid',), ()),
 'sign': (('_sparse_sign',), ()),
 'sin': (('_sparse_sin',), ()),
 'sinh': (('_sparse_sinh',), ()),
 'size_array': ((), ()),
 'slice': (('_npi_slice', '_npx_slice', '_sparse_slice', 'crop'),
           (('begin', None), ('end', None), ('step', '[]'))),
 'slice_axis': ((), (('axis', None), ('begin', None), ('end', None))),
 'slice_like': ((), (('axes', '[]'),)),
 'smooth_l1': (('_npx_smooth_l1',), (('scalar', None),)),
 'softmax': (('_npx_softmax',),
             (('axis', "'-1'"), ('temperature', 'None'), ('dtype', "'None'"),
              ('use_length', '0'))),
 'softmax_cross_entropy': ((), ()),
 'softmin': ((),
             (('axis', "'-1'"), ('temperature', 'None'), ('dtype', "'None'"),
              ('use_length', '0'))),
 'softsign': ((), ()),
 'sort': (('_npi_sort',), (('axis', "'-1'"), ('is_ascend', '1'))),
 'space_to_depth': ((), (('block_size', None),)),
 'sqrt': (('_sparse_sqrt',), ()),
 'square': (('_sparse_square',), ()),
 'squeeze': ((), (('axis', 'None'),)),
 'stack': ((), (('axis', "'0'"), ('num_args', None))),
 'sum': (('_sparse_sum', 'sum_axis'), (('axis', 'None'), ('keepdims', '0'), ('exclude', '0'))),
 'take': (('_npi_take',), (('axis', "'0'"), ('mode', "'clip'"))),
 'tan': (('_sparse_tan',), ()),
 'tanh': (('_sparse_tanh',), ()),
 'tile': (('_npi_tile',), (('reps', None),)),
 'topk': (('_npx_topk',),
          (('axis', "'-1'"), ('k', "'1'"), ('ret_typ', "'indices'"), ('is_ascend', '0'),
           ('dtype', "'float32'"))),
 'transpose': ((), (('axes', '[]'),)),
 'trunc': (('_sparse_trunc',), ()),
 'where': (('_sparse_where',), ()),
 'zeros_like': (('_sparse_zeros_like',), ())}
# --- END GENERATED MXNET_SIGNATURES

# --- BEGIN GENERATED BACKWARD (do not edit by hand)
BACKWARD = [
 ('Convolution', {'kernel': '(3, 3)', 'num_filter': '8', 'pad': '(1, 1)'}, (2, 8, 10, 12),
  {'bias': None, 'data': None, 'weight': None}),
 ('FullyConnected', {'num_hidden': '5'}, (7, 5), {'bias': None, 'data': None, 'weight': None}),
 ('transpose', {'axes': '(1, 2, 0)'}, (2, 3, 4), {'data': (4, 2, 3)}),
 ('Activation', {'act_type': 'relu'}, (2, 3), {'data': (2, 3)}),
 ('Reshape', {'shape': '(0, -1)'}, (2, 12), {'data': None}),
 ('SliceChannel', {'axis': '1', 'num_outputs': '1'}, (2, 3), {'data': None}),
 ('BatchNorm', {}, (2, 3),
  {'beta': None, 'data': None, 'gamma': None, 'moving_mean': None, 'moving_var': None}),
 ('Pooling', {'kernel': '(2, 2)', 'stride': '(2, 2)'}, (2, 3, 4, 4), {'data': None}),
 ('sum', {'axis': '1'}, (2, 3), {'data': None}),
 ('_plus_scalar', {'scalar': '1'}, (2, 3), {'data': (2, 3)}),
 ('_rdiv_scalar', {'scalar': '1'}, (2, 3), {'data': (2, 3)}),
 ('softmax', {}, (2, 3), {'data': None}), ('log_softmax', {}, (2, 3), {'data': (2, 3)}),
 ('LayerNorm', {}, (2, 3), {'beta': None, 'data': None, 'gamma': None}),
 ('Dropout', {}, (2, 3), {'data': None}),
 ('SoftmaxOutput', {}, (2, 3), {'data': None, 'label': None}),
 ('LeakyReLU', {'act_type': 'prelu'}, (2, 3), {'data': None, 'gamma': None}),
 ('LeakyReLU', {'act_type': 'leaky'}, (2, 3), {'data': None}),
 ('expand_dims', {'axis': '1'}, (2, 1, 3), {'data': (2, 3)}),
 ('Cast', {'dtype': 'int32'}, (2, 3), {'data': (2, 3)}),
 ('SwapAxis', {'dim1': '0', 'dim2': '1'}, (2, 3), {'data': None}),
 ('Flatten', {}, (2, 3), {'data': None}),
 ('clip', {'a_max': '1', 'a_min': '0'}, (2, 3), {'data': (2, 3)}),
 ('negative', {}, (2, 3), {'data': (2, 3)}), ('BlockGrad', {}, (2, 3), {'data': (2, 3)}),
 ('make_loss', {}, (2, 3), {'data': (2, 3)}), ('MakeLoss', {}, (2, 3), {'data': None}),
 ('zeros_like', {}, (2, 3), {'data': (2, 3)}), ('_copy', {}, (2, 3), {'data': (2, 3)}),
 ('reverse', {'axis': '0'}, (2, 3), {'data': (2, 3)}),
 ('LRN', {'nsize': '3'}, (2, 3, 4, 4), {'data': None}),
 ('SoftmaxActivation', {}, (2, 3), {'data': (2, 3)}),
 ('LinearRegressionOutput', {}, (2, 3), {'data': None, 'label': None}),
 ('squeeze', {}, (2, 3), {'data': None}),
 ('where', {}, (2, 3), {'condition': None, 'x': None, 'y': None}),
 ('SequenceReverse', {}, (2, 3), {'data': None}),
 ('slice', {'begin': '(0,)', 'end': '(2,)'}, (2, 3), {'data': None}),
 ('tile', {'reps': '(1,)'}, (2, 3), {'data': None}),
 ('Embedding', {'input_dim': '5', 'output_dim': '3'}, (2, 3), {'data': None, 'weight': None}),
 ('one_hot', {'depth': '3'}, (2, 3), {'indices': None}),
 ('broadcast_to', {'shape': '(2, 3)'}, (2, 3), {'data': None})]
# --- END GENERATED BACKWARD

# --- BEGIN GENERATED KERNELS (do not edit by hand)
KERNELS = [('negative', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([2.5, 0.5, -0.5, -1.5], 'float32', (4,))),
 ('abs', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')], ([2.5, 0.5, 0.5, 1.5], 'float32', (4,))),
 ('sign', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([-1.0, -1.0, 1.0, 1.0], 'float32', (4,))),
 ('round', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([-3.0, -1.0, 1.0, 2.0], 'float32', (4,))),
 ('rint', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([-3.0, -1.0, 0.0, 1.0], 'float32', (4,))),
 ('ceil', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([-2.0, -0.0, 1.0, 2.0], 'float32', (4,))),
 ('floor', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([-3.0, -1.0, 0.0, 1.0], 'float32', (4,))),
 ('trunc', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([-2.0, -0.0, 0.0, 1.0], 'float32', (4,))),
 ('fix', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')], ([-2.0, -0.0, 0.0, 1.0], 'float32', (4,))),
 ('square', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([6.25, 0.25, 0.25, 2.25], 'float32', (4,))),
 ('cbrt', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([-1.357209, -0.793701, 0.793701, 1.144714], 'float32', (4,))),
 ('exp', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([0.082085, 0.606531, 1.648721, 4.481689], 'float32', (4,))),
 ('expm1', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([-0.917915, -0.393469, 0.648721, 3.481689], 'float32', (4,))),
 ('sin', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([-0.598472, -0.479426, 0.479426, 0.997495], 'float32', (4,))),
 ('cos', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([-0.801144, 0.877583, 0.877583, 0.070737], 'float32', (4,))),
 ('tan', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([0.747022, -0.546302, 0.546302, 14.10142], 'float32', (4,))),
 ('arctan', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([-1.19029, -0.463648, 0.463648, 0.982794], 'float32', (4,))),
 ('sinh', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([-6.050205, -0.521095, 0.521095, 2.129279], 'float32', (4,))),
 ('cosh', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([6.132289, 1.127626, 1.127626, 2.35241], 'float32', (4,))),
 ('tanh', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([-0.986614, -0.462117, 0.462117, 0.905148], 'float32', (4,))),
 ('arcsinh', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([-1.647231, -0.481212, 0.481212, 1.194763], 'float32', (4,))),
 ('degrees', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([-143.239441, -28.647888, 28.647888, 85.943665], 'float32', (4,))),
 ('radians', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([-0.043633, -0.008727, 0.008727, 0.02618], 'float32', (4,))),
 ('relu', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')], ([0.0, 0.0, 0.5, 1.5], 'float32', (4,))),
 ('sigmoid', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([0.075858, 0.377541, 0.622459, 0.817574], 'float32', (4,))),
 ('softsign', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([-0.714286, -0.333333, 0.333333, 0.6], 'float32', (4,))),
 ('logical_not', {}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([0.0, 0.0, 0.0, 0.0], 'float32', (4,))),
 ('arcsin', {}, [([-0.8999999761581421, -0.5, 0.5, 0.8999999761581421], 'float32')],
  ([-1.119769, -0.523599, 0.523599, 1.119769], 'float32', (4,))),
 ('arccos', {}, [([-0.8999999761581421, -0.5, 0.5, 0.8999999761581421], 'float32')],
  ([2.690566, 2.094395, 1.047198, 0.451027], 'float32', (4,))),
 ('arctanh', {}, [([-0.8999999761581421, -0.5, 0.5, 0.8999999761581421], 'float32')],
  ([-1.472219, -0.549306, 0.549306, 1.472219], 'float32', (4,))),
 ('sqrt', {}, [([0.5, 1.5, 2.5, 4.0], 'float32')],
  ([0.707107, 1.224745, 1.581139, 2.0], 'float32', (4,))),
 ('rsqrt', {}, [([0.5, 1.5, 2.5, 4.0], 'float32')],
  ([1.414214, 0.816497, 0.632456, 0.5], 'float32', (4,))),
 ('log', {}, [([0.5, 1.5, 2.5, 4.0], 'float32')],
  ([-0.693147, 0.405465, 0.916291, 1.386294], 'float32', (4,))),
 ('log1p', {}, [([0.5, 1.5, 2.5, 4.0], 'float32')],
  ([0.405465, 0.916291, 1.252763, 1.609438], 'float32', (4,))),
 ('log2', {}, [([0.5, 1.5, 2.5, 4.0], 'float32')],
  ([-1.0, 0.584962, 1.321928, 2.0], 'float32', (4,))),
 ('log10', {}, [([0.5, 1.5, 2.5, 4.0], 'float32')],
  ([-0.30103, 0.176091, 0.39794, 0.60206], 'float32', (4,))),
 ('reciprocal', {}, [([0.5, 1.5, 2.5, 4.0], 'float32')],
  ([2.0, 0.666667, 0.4, 0.25], 'float32', (4,))),
 ('rcbrt', {}, [([0.5, 1.5, 2.5, 4.0], 'float32')],
  ([1.259921, 0.87358, 0.736806, 0.629961], 'float32', (4,))),
 ('arccosh', {}, [([1.5, 2.0, 3.0, 4.0], 'float32')],
  ([0.962424, 1.316958, 1.762747, 2.063437], 'float32', (4,))),
 ('round', {}, [([-1.5, 2.5, 3.5, -0.4], 'float64')],
  ([-2.0, 3.0, 4.0, -0.0], 'float64', (4,))),
 ('abs', {}, [([-3, 2], 'int32')], ([3, 2], 'int32', (2,))),
 ('_plus_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([-0.5, 1.0, 2.5, 4.5, 7.5], 'float32', (5,))),
 ('_minus_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([-5.5, -4.0, -2.5, -0.5, 2.5], 'float32', (5,))),
 ('_rminus_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([5.5, 4.0, 2.5, 0.5, -2.5], 'float32', (5,))),
 ('_mul_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([-7.5, -3.75, 0.0, 5.0, 12.5], 'float32', (5,))),
 ('_div_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([-1.2, -0.6, 0.0, 0.8, 2.0], 'float32', (5,))),
 ('_rdiv_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([-0.833333, -1.666667, inf, 1.25, 0.5], 'float32', (5,))),
 ('_mod_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([2.0, 1.0, 0.0, 2.0, 0.0], 'float32', (5,))),
 ('_rmod_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([-0.5, -0.5, 0.0, 0.5, 2.5], 'float32', (5,))),
 ('_power_scalar', {'scalar': 2.5}, [([0.5, 1.0, 2.0, 3.0], 'float32')],
  ([0.176777, 1.0, 5.656854, 15.588457], 'float32', (4,))),
 ('_rpower_scalar', {'scalar': 2.5}, [([0.5, 1.0, 2.0, 3.0], 'float32')],
  ([1.581139, 2.5, 6.25, 15.625], 'float32', (4,))),
 ('_maximum_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([2.5, 2.5, 2.5, 2.5, 5.0], 'float32', (5,))),
 ('_minimum_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([-3.0, -1.5, 0.0, 2.0, 2.5], 'float32', (5,))),
 ('_hypot_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([3.905125, 2.915476, 2.5, 3.201562, 5.59017], 'float32', (5,))),
 ('_equal_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([0.0, 0.0, 0.0, 0.0, 0.0], 'float32', (5,))),
 ('_not_equal_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([1.0, 1.0, 1.0, 1.0, 1.0], 'float32', (5,))),
 ('_greater_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([0.0, 0.0, 0.0, 0.0, 1.0], 'float32', (5,))),
 ('_greater_equal_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([0.0, 0.0, 0.0, 0.0, 1.0], 'float32', (5,))),
 ('_lesser_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([1.0, 1.0, 1.0, 1.0, 0.0], 'float32', (5,))),
 ('_lesser_equal_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([1.0, 1.0, 1.0, 1.0, 0.0], 'float32', (5,))),
 ('_logical_and_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([1.0, 1.0, 0.0, 1.0, 1.0], 'float32', (5,))),
 ('_logical_or_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([1.0, 1.0, 1.0, 1.0, 1.0], 'float32', (5,))),
 ('_logical_xor_scalar', {'scalar': 2.5}, [([-3.0, -1.5, 0.0, 2.0, 5.0], 'float32')],
  ([0.0, 0.0, 1.0, 0.0, 0.0], 'float32', (5,))),
 ('_plus_scalar', {'scalar': 2.5}, [([1, 2, 3], 'int32')], ([3, 4, 5], 'int32', (3,))),
 ('_div_scalar', {'scalar': 2.0}, [([1, 2, 7], 'int32')], ([0, 1, 3], 'int32', (3,))),
 ('_mod_scalar', {'scalar': 0.0}, [([1.0, -2.0], 'float32')], ([0.0, 0.0], 'float32', (2,))),
 ('_rmod_scalar', {'scalar': 3.0}, [([2.0, -2.0, 0.0], 'float32')],
  ([1.0, -1.0, 0.0], 'float32', (3,))),
 ('broadcast_add', {}, [([[1.0], [-2.0]], 'float32'), ([[0.5, 2.0, -2.0]], 'float32')],
  ([[1.5, 3.0, -1.0], [-1.5, 0.0, -4.0]], 'float32', (2, 3))),
 ('broadcast_sub', {}, [([[1.0], [-2.0]], 'float32'), ([[0.5, 2.0, -2.0]], 'float32')],
  ([[0.5, -1.0, 3.0], [-2.5, -4.0, 0.0]], 'float32', (2, 3))),
 ('broadcast_mul', {}, [([[1.0], [-2.0]], 'float32'), ([[0.5, 2.0, -2.0]], 'float32')],
  ([[0.5, 2.0, -2.0], [-1.0, -4.0, 4.0]], 'float32', (2, 3))),
 ('broadcast_div', {}, [([[1.0], [-2.0]], 'float32'), ([[0.5, 2.0, -2.0]], 'float32')],
  ([[2.0, 0.5, -0.5], [-4.0, -1.0, 1.0]], 'float32', (2, 3))),
 ('broadcast_mod', {}, [([[1.0], [-2.0]], 'float32'), ([[0.5, 2.0, -2.0]], 'float32')],
  ([[0.0, 1.0, -1.0], [0.0, 0.0, -0.0]], 'float32', (2, 3))),
 ('broadcast_power', {}, [([[1.0], [-2.0]], 'float32'), ([[0.5, 2.0, -2.0]], 'float32')],
  ([[1.0, 1.0, 1.0], [nan, 4.0, 0.25]], 'float32', (2, 3))),
 ('broadcast_maximum', {}, [([[1.0], [-2.0]], 'float32'), ([[0.5, 2.0, -2.0]], 'float32')],
  ([[1.0, 2.0, 1.0], [0.5, 2.0, -2.0]], 'float32', (2, 3))),
 ('broadcast_minimum', {}, [([[1.0], [-2.0]], 'float32'), ([[0.5, 2.0, -2.0]], 'float32')],
  ([[0.5, 1.0, -2.0], [-2.0, -2.0, -2.0]], 'float32', (2, 3))),
 ('broadcast_hypot', {}, [([[1.0], [-2.0]], 'float32'), ([[0.5, 2.0, -2.0]], 'float32')],
  ([[1.118034, 2.236068, 2.236068], [2.061553, 2.828427, 2.828427]], 'float32', (2, 3))),
 ('broadcast_equal', {}, [([[1.0], [-2.0]], 'float32'), ([[0.5, 2.0, -2.0]], 'float32')],
  ([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]], 'float32', (2, 3))),
 ('broadcast_not_equal', {}, [([[1.0], [-2.0]], 'float32'), ([[0.5, 2.0, -2.0]], 'float32')],
  ([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]], 'float32', (2, 3))),
 ('broadcast_greater', {}, [([[1.0], [-2.0]], 'float32'), ([[0.5, 2.0, -2.0]], 'float32')],
  ([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]], 'float32', (2, 3))),
 ('broadcast_greater_equal', {},
  [([[1.0], [-2.0]], 'float32'), ([[0.5, 2.0, -2.0]], 'float32')],
  ([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]], 'float32', (2, 3))),
 ('broadcast_lesser', {}, [([[1.0], [-2.0]], 'float32'), ([[0.5, 2.0, -2.0]], 'float32')],
  ([[0.0, 1.0, 0.0], [1.0, 1.0, 0.0]], 'float32', (2, 3))),
 ('broadcast_lesser_equal', {},
  [([[1.0], [-2.0]], 'float32'), ([[0.5, 2.0, -2.0]], 'float32')],
  ([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0]], 'float32', (2, 3))),
 ('broadcast_logical_and', {}, [([[1.0], [-2.0]], 'float32'), ([[0.5, 2.0, -2.0]], 'float32')],
  ([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], 'float32', (2, 3))),
 ('broadcast_logical_or', {}, [([[1.0], [-2.0]], 'float32'), ([[0.5, 2.0, -2.0]], 'float32')],
  ([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], 'float32', (2, 3))),
 ('broadcast_logical_xor', {}, [([[1.0], [-2.0]], 'float32'), ([[0.5, 2.0, -2.0]], 'float32')],
  ([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], 'float32', (2, 3))),
 ('elemwise_add', {}, [([1.0, -2.0, 3.0, 0.0], 'float32'), ([0.5, 2.0, -2.0, 1.0], 'float32')],
  ([1.5, 0.0, 1.0, 1.0], 'float32', (4,))),
 ('elemwise_sub', {}, [([1.0, -2.0, 3.0, 0.0], 'float32'), ([0.5, 2.0, -2.0, 1.0], 'float32')],
  ([0.5, -4.0, 5.0, -1.0], 'float32', (4,))),
 ('elemwise_mul', {}, [([1.0, -2.0, 3.0, 0.0], 'float32'), ([0.5, 2.0, -2.0, 1.0], 'float32')],
  ([0.5, -4.0, -6.0, 0.0], 'float32', (4,))),
 ('elemwise_div', {}, [([1.0, -2.0, 3.0, 0.0], 'float32'), ([0.5, 2.0, -2.0, 1.0], 'float32')],
  ([2.0, -1.0, -1.5, 0.0], 'float32', (4,))),
 ('_power', {}, [([1.0, -2.0, 3.0, 0.0], 'float32'), ([0.5, 2.0, -2.0, 1.0], 'float32')],
  ([1.0, 4.0, 0.111111, 0.0], 'float32', (4,))),
 ('_maximum', {}, [([1.0, -2.0, 3.0, 0.0], 'float32'), ([0.5, 2.0, -2.0, 1.0], 'float32')],
  ([1.0, 2.0, 3.0, 1.0], 'float32', (4,))),
 ('_minimum', {}, [([1.0, -2.0, 3.0, 0.0], 'float32'), ([0.5, 2.0, -2.0, 1.0], 'float32')],
  ([0.5, -2.0, -2.0, 0.0], 'float32', (4,))),
 ('_hypot', {}, [([1.0, -2.0, 3.0, 0.0], 'float32'), ([0.5, 2.0, -2.0, 1.0], 'float32')],
  ([1.118034, 2.828427, 3.605551, 1.0], 'float32', (4,))),
 ('_equal', {}, [([1.0, -2.0, 3.0, 0.0], 'float32'), ([0.5, 2.0, -2.0, 1.0], 'float32')],
  ([0.0, 0.0, 0.0, 0.0], 'float32', (4,))),
 ('_not_equal', {}, [([1.0, -2.0, 3.0, 0.0], 'float32'), ([0.5, 2.0, -2.0, 1.0], 'float32')],
  ([1.0, 1.0, 1.0, 1.0], 'float32', (4,))),
 ('_greater', {}, [([1.0, -2.0, 3.0, 0.0], 'float32'), ([0.5, 2.0, -2.0, 1.0], 'float32')],
  ([1.0, 0.0, 1.0, 0.0], 'float32', (4,))),
 ('_greater_equal', {},
  [([1.0, -2.0, 3.0, 0.0], 'float32'), ([0.5, 2.0, -2.0, 1.0], 'float32')],
  ([1.0, 0.0, 1.0, 0.0], 'float32', (4,))),
 ('_lesser', {}, [([1.0, -2.0, 3.0, 0.0], 'float32'), ([0.5, 2.0, -2.0, 1.0], 'float32')],
  ([0.0, 1.0, 0.0, 1.0], 'float32', (4,))),
 ('_lesser_equal', {},
  [([1.0, -2.0, 3.0, 0.0], 'float32'), ([0.5, 2.0, -2.0, 1.0], 'float32')],
  ([0.0, 1.0, 0.0, 1.0], 'float32', (4,))),
 ('_logical_and', {}, [([1.0, -2.0, 3.0, 0.0], 'float32'), ([0.5, 2.0, -2.0, 1.0], 'float32')],
  ([1.0, 1.0, 1.0, 0.0], 'float32', (4,))),
 ('_logical_or', {}, [([1.0, -2.0, 3.0, 0.0], 'float32'), ([0.5, 2.0, -2.0, 1.0], 'float32')],
  ([1.0, 1.0, 1.0, 1.0], 'float32', (4,))),
 ('_logical_xor', {}, [([1.0, -2.0, 3.0, 0.0], 'float32'), ([0.5, 2.0, -2.0, 1.0], 'float32')],
  ([0.0, 0.0, 0.0, 1.0], 'float32', (4,))),
 ('_mod', {}, [([1.0, -2.0, 3.0, 0.0], 'float32'), ([0.5, 2.0, -2.0, 1.0], 'float32')],
  ([0.0, 0.0, -1.0, 0.0], 'float32', (4,))),
 ('_grad_add', {}, [([1.0, -2.0, 3.0, 0.0], 'float32'), ([0.5, 2.0, -2.0, 1.0], 'float32')],
  ([1.5, 0.0, 1.0, 1.0], 'float32', (4,))),
 ('add_n', {}, [([1.0, 2.0], 'float32'), ([3.0, 4.0], 'float32'), ([5.0, 6.0], 'float32')],
  ([9.0, 12.0], 'float32', (2,))),
 ('sum', {'axis': (1,)},
  [([[[-7.5, -6.5, -5.5, -4.5], [-3.5, -2.5, -1.5, -0.5], [0.5, 1.5, 2.5, 3.5]],
     [[4.5, 5.5, 6.5, 7.5], [8.5, 9.5, 10.5, 11.5], [12.5, 13.5, 14.5, 15.5]]],
    'float32')],
  ([[-10.5, -7.5, -4.5, -1.5], [25.5, 28.5, 31.5, 34.5]], 'float32', (2, 4))),
 ('mean', {'axis': (1,)},
  [([[[-7.5, -6.5, -5.5, -4.5], [-3.5, -2.5, -1.5, -0.5], [0.5, 1.5, 2.5, 3.5]],
     [[4.5, 5.5, 6.5, 7.5], [8.5, 9.5, 10.5, 11.5], [12.5, 13.5, 14.5, 15.5]]],
    'float32')],
  ([[-3.5, -2.5, -1.5, -0.5], [8.5, 9.5, 10.5, 11.5]], 'float32', (2, 4))),
 ('prod', {'axis': (1,)},
  [([[[-7.5, -6.5, -5.5, -4.5], [-3.5, -2.5, -1.5, -0.5], [0.5, 1.5, 2.5, 3.5]],
     [[4.5, 5.5, 6.5, 7.5], [8.5, 9.5, 10.5, 11.5], [12.5, 13.5, 14.5, 15.5]]],
    'float32')],
  ([[13.125, 24.375, 20.625, 7.875], [478.125, 705.375, 989.625, 1336.875]], 'float32',
   (2, 4))),
 ('max', {'axis': (1,)},
  [([[[-7.5, -6.5, -5.5, -4.5], [-3.5, -2.5, -1.5, -0.5], [0.5, 1.5, 2.5, 3.5]],
     [[4.5, 5.5, 6.5, 7.5], [8.5, 9.5, 10.5, 11.5], [12.5, 13.5, 14.5, 15.5]]],
    'float32')],
  ([[0.5, 1.5, 2.5, 3.5], [12.5, 13.5, 14.5, 15.5]], 'float32', (2, 4))),
 ('min', {'axis': (1,)},
  [([[[-7.5, -6.5, -5.5, -4.5], [-3.5, -2.5, -1.5, -0.5], [0.5, 1.5, 2.5, 3.5]],
     [[4.5, 5.5, 6.5, 7.5], [8.5, 9.5, 10.5, 11.5], [12.5, 13.5, 14.5, 15.5]]],
    'float32')],
  ([[-7.5, -6.5, -5.5, -4.5], [4.5, 5.5, 6.5, 7.5]], 'float32', (2, 4))),
 ('nansum', {'axis': (1,)},
  [([[[-7.5, -6.5, -5.5, -4.5], [-3.5, -2.5, -1.5, -0.5], [0.5, 1.5, 2.5, 3.5]],
     [[4.5, 5.5, 6.5, 7.5], [8.5, 9.5, 10.5, 11.5], [12.5, 13.5, 14.5, 15.5]]],
    'float32')],
  ([[-10.5, -7.5, -4.5, -1.5], [25.5, 28.5, 31.5, 34.5]], 'float32', (2, 4))),
 ('nanprod', {'axis': (1,)},
  [([[[-7.5, -6.5, -5.5, -4.5], [-3.5, -2.5, -1.5, -0.5], [0.5, 1.5, 2.5, 3.5]],
     [[4.5, 5.5, 6.5, 7.5], [8.5, 9.5, 10.5, 11.5], [12.5, 13.5, 14.5, 15.5]]],
    'float32')],
  ([[13.125, 24.375, 20.625, 7.875], [478.125, 705.375, 989.625, 1336.875]], 'float32',
   (2, 4))),
 ('sum', {},
  [([[[-7.5, -6.5, -5.5, -4.5], [-3.5, -2.5, -1.5, -0.5], [0.5, 1.5, 2.5, 3.5]],
     [[4.5, 5.5, 6.5, 7.5], [8.5, 9.5, 10.5, 11.5], [12.5, 13.5, 14.5, 15.5]]],
    'float32')],
  ([96.0], 'float32', (1,))),
 ('sum', {'axis': (0, 2), 'exclude': True, 'keepdims': True},
  [([[[-7.5, -6.5, -5.5, -4.5], [-3.5, -2.5, -1.5, -0.5], [0.5, 1.5, 2.5, 3.5]],
     [[4.5, 5.5, 6.5, 7.5], [8.5, 9.5, 10.5, 11.5], [12.5, 13.5, 14.5, 15.5]]],
    'float32')],
  ([[[-10.5, -7.5, -4.5, -1.5]], [[25.5, 28.5, 31.5, 34.5]]], 'float32', (2, 1, 4))),
 ('mean', {'axis': (0, 2), 'keepdims': True},
  [([[[-7.5, -6.5, -5.5, -4.5], [-3.5, -2.5, -1.5, -0.5], [0.5, 1.5, 2.5, 3.5]],
     [[4.5, 5.5, 6.5, 7.5], [8.5, 9.5, 10.5, 11.5], [12.5, 13.5, 14.5, 15.5]]],
    'float32')],
  ([[[0.0], [4.0], [8.0]]], 'float32', (1, 3, 1))),
 ('max', {'axis': (-1,)},
  [([[[-7.5, -6.5, -5.5, -4.5], [-3.5, -2.5, -1.5, -0.5], [0.5, 1.5, 2.5, 3.5]],
     [[4.5, 5.5, 6.5, 7.5], [8.5, 9.5, 10.5, 11.5], [12.5, 13.5, 14.5, 15.5]]],
    'float32')],
  ([[-4.5, -0.5, 3.5], [7.5, 11.5, 15.5]], 'float32', (2, 3))),
 ('nansum', {'axis': (1,)}, [([[1.0, nan], [2.0, 3.0]], 'float32')],
  ([1.0, 5.0], 'float32', (2,))),
 ('nanprod', {}, [([[1.0, nan], [2.0, 3.0]], 'float32')], ([6.0], 'float32', (1,))),
 ('mean', {'axis': (1,)}, [([[1, 2], [3, 6]], 'int32')], ([1, 4], 'int32', (2,))),
 ('norm', {},
  [([[[-7.5, -6.5, -5.5, -4.5], [-3.5, -2.5, -1.5, -0.5], [0.5, 1.5, 2.5, 3.5]],
     [[4.5, 5.5, 6.5, 7.5], [8.5, 9.5, 10.5, 11.5], [12.5, 13.5, 14.5, 15.5]]],
    'float32')],
  ([39.166317], 'float32', (1,))),
 ('norm', {'ord': 1, 'axis': (1,), 'keepdims': True},
  [([[[-7.5, -6.5, -5.5, -4.5], [-3.5, -2.5, -1.5, -0.5], [0.5, 1.5, 2.5, 3.5]],
     [[4.5, 5.5, 6.5, 7.5], [8.5, 9.5, 10.5, 11.5], [12.5, 13.5, 14.5, 15.5]]],
    'float32')],
  ([[[11.5, 10.5, 9.5, 8.5]], [[25.5, 28.5, 31.5, 34.5]]], 'float32', (2, 1, 4))),
 ('norm', {'axis': (1, 2)},
  [([[[-7.5, -6.5, -5.5, -4.5], [-3.5, -2.5, -1.5, -0.5], [0.5, 1.5, 2.5, 3.5]],
     [[4.5, 5.5, 6.5, 7.5], [8.5, 9.5, 10.5, 11.5], [12.5, 13.5, 14.5, 15.5]]],
    'float32')],
  ([13.820275, 36.646965], 'float32', (2,))),
 ('dot', {},
  [([[-2.0, -1.0, 0.0], [1.0, 2.0, 3.0]], 'float32'),
   ([[0.0, 0.25, 0.5, 0.75], [1.0, 1.25, 1.5, 1.75], [2.0, 2.25, 2.5, 2.75]], 'float32')],
  ([[-1.0, -1.75, -2.5, -3.25], [8.0, 9.5, 11.0, 12.5]], 'float32', (2, 4))),
 ('dot', {'transpose_a': True},
  [([[-2.0, 1.0], [-1.0, 2.0], [0.0, 3.0]], 'float32'),
   ([[0.0, 0.25, 0.5, 0.75], [1.0, 1.25, 1.5, 1.75], [2.0, 2.25, 2.5, 2.75]], 'float32')],
  ([[-1.0, -1.75, -2.5, -3.25], [8.0, 9.5, 11.0, 12.5]], 'float32', (2, 4))),
 ('dot', {'transpose_b': True},
  [([[-2.0, -1.0, 0.0], [1.0, 2.0, 3.0]], 'float32'),
   ([[0.0, 1.0, 2.0], [0.25, 1.25, 2.25], [0.5, 1.5, 2.5], [0.75, 1.75, 2.75]], 'float32')],
  ([[-1.0, -1.75, -2.5, -3.25], [8.0, 9.5, 11.0, 12.5]], 'float32', (2, 4))),
 ('dot', {}, [([1.0, 2.0, 3.0], 'float32'), ([4.0, 5.0, 6.0], 'float32')],
  ([32.0], 'float32', (1,))),
 ('dot', {'transpose_a': True},
  [([[[-5.0, -4.0], [-3.0, -2.0]], [[-1.0, 0.0], [1.0, 2.0]], [[3.0, 4.0], [5.0, 6.0]]],
    'float32'),
   ([[0.0, 0.25, 0.5, 0.75], [1.0, 1.25, 1.5, 1.75], [2.0, 2.25, 2.5, 2.75]], 'float32')],
  ([[[5.0, 4.25, 3.5, 2.75], [8.0, 8.0, 8.0, 8.0]],
    [[11.0, 11.75, 12.5, 13.25], [14.0, 15.5, 17.0, 18.5]]],
   'float32', (2, 2, 4))),
 ('batch_dot', {},
  [([[[-4.0, -3.0, -2.0], [-1.0, 0.0, 1.0]], [[2.0, 3.0, 4.0], [5.0, 6.0, 7.0]]], 'float32'),
   ([[[0.0, 0.125, 0.25, 0.375], [0.5, 0.625, 0.75, 0.875], [1.0, 1.125, 1.25, 1.375]],
     [[1.5, 1.625, 1.75, 1.875], [2.0, 2.125, 2.25, 2.375], [2.5, 2.625, 2.75, 2.875]]],
    'float32')],
  ([[[-3.5, -4.625, -5.75, -6.875], [1.0, 1.0, 1.0, 1.0]],
    [[19.0, 20.125, 21.25, 22.375], [37.0, 39.25, 41.5, 43.75]]],
   'float32', (2, 2, 4))),
 ('batch_dot', {'transpose_a': True, 'transpose_b': True},
  [([[[-4.0, -1.0], [-3.0, 0.0], [-2.0, 1.0]], [[2.0, 5.0], [3.0, 6.0], [4.0, 7.0]]],
    'float32'),
   ([[[0.0, 0.5, 1.0], [0.125, 0.625, 1.125], [0.25, 0.75, 1.25], [0.375, 0.875, 1.375]],
     [[1.5, 2.0, 2.5], [1.625, 2.125, 2.625], [1.75, 2.25, 2.75], [1.875, 2.375, 2.875]]],
    'float32')],
  ([[[-3.5, -4.625, -5.75, -6.875], [1.0, 1.0, 1.0, 1.0]],
    [[19.0, 20.125, 21.25, 22.375], [37.0, 39.25, 41.5, 43.75]]],
   'float32', (2, 2, 4))),
 ('_arange', {'start': 1, 'stop': 2, 'step': 0.25, 'repeat': 2, 'dtype': 'float64'}, [],
  ([1.0, 1.0, 1.25, 1.25, 1.5, 1.5, 1.75, 1.75], 'float64', (8,))),
 ('_arange', {'start': 5}, [], ([0.0, 1.0, 2.0, 3.0, 4.0], 'float32', (5,))),
 ('_arange', {'start': 10, 'stop': 0, 'step': -2.5, 'dtype': 'int32'}, [],
  ([10, 8, 6, 4], 'int32', (4,))),
 ('_zeros', {'shape': (2, 3), 'dtype': 'int32'}, [],
  ([[0, 0, 0], [0, 0, 0]], 'int32', (2, 3))),
 ('_ones', {'shape': (2,)}, [], ([1.0, 1.0], 'float32', (2,))),
 ('_full', {'shape': (2, 2), 'value': 3.5, 'dtype': 'float16'}, [],
  ([[3.5, 3.5], [3.5, 3.5]], 'float16', (2, 2))),
 ('_eye', {'N': 3, 'M': 4, 'k': 1, 'dtype': 'int32'}, [],
  ([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], 'int32', (3, 4))),
 ('hard_sigmoid', {'alpha': 0.3}, [([-2.5, -0.5, 0.5, 1.5], 'float32')],
  ([0.0, 0.35, 0.65, 0.95], 'float32', (4,))),
 ('smooth_l1', {'scalar': 2.0},
  [([-1.0, -0.20000000298023224, 0.10000000149011612, 0.25, 3.0], 'float32')],
  ([0.875, 0.08, 0.02, 0.125, 2.875], 'float32', (5,))),
 ('shape_array', {},
  [([[[-7.5, -6.5, -5.5, -4.5], [-3.5, -2.5, -1.5, -0.5], [0.5, 1.5, 2.5, 3.5]],
     [[4.5, 5.5, 6.5, 7.5], [8.5, 9.5, 10.5, 11.5], [12.5, 13.5, 14.5, 15.5]]],
    'float32')],
  ([2, 3, 4], 'int64', (3,))),
 ('size_array', {},
  [([[[-7.5, -6.5, -5.5, -4.5], [-3.5, -2.5, -1.5, -0.5], [0.5, 1.5, 2.5, 3.5]],
     [[4.5, 5.5, 6.5, 7.5], [8.5, 9.5, 10.5, 11.5], [12.5, 13.5, 14.5, 15.5]]],
    'float32')],
  ([24], 'int64', (1,)))]
# --- END GENERATED KERNELS


# ----------------------------------------------------------------------------------------
# Names, aliases and parameters, as MXNet declares them.


def _mx_default(op, pname: str, text: str):
    return op.params[pname].type.parse(text.strip("'"))


# Where MXNet's documented signature (the table above) and its parameter parser disagree,
# the parser's default, which MXNet runs with: smooth_l1(x) is sigma 1 (its attributes are
# parsed as a numpy scalar operator's).
_PARSER_DEFAULTS = {("smooth_l1", "scalar"): "1.0"}


@pytest.mark.parametrize("name", sorted(MXNET_SIGNATURES))
def test_signature_matches_mxnet(name):
    aliases, params = MXNET_SIGNATURES[name]
    params = tuple((p, _PARSER_DEFAULTS.get((name, p), d)) for p, d in params)
    op = registry.get(name)
    assert op.name == name
    assert sorted(op.aliases) == sorted(aliases)
    for alias in aliases:
        assert registry.get(alias) is op
    assert list(op.params) == [p for p, _ in params]
    for pname, default in params:
        ours = op.params[pname].default
        if default is None:
            assert ours is REQUIRED, pname
            continue
        theirs = _mx_default(op, pname, default)
        if isinstance(theirs, float) and isinstance(ours, float):
            assert math.isclose(ours, theirs, rel_tol=1e-6), pname  # MXNet prints float32
        else:
            assert ours == theirs, pname


def test_registry_holds_the_declared_operators_under_mxnet_names_only():
    ops = registry.all_ops()
    assert set(MXNET_SIGNATURES) <= set(ops)
    for name, (aliases, _) in MXNET_SIGNATURES.items():
        assert set(ops[name].aliases) == set(aliases), name
    # Every name and alias is one MXNet 1.9.1 registers: nothing invented, nothing misspelt.
    assert sorted(set(registry.all_names()) - MXNET_NAMES) == []


@pytest.mark.parametrize("alias, canonical", [
    ("_Plus", "elemwise_add"), ("_plus", "elemwise_add"), ("_add", "elemwise_add"),
    ("_Minus", "elemwise_sub"), ("_Mul", "elemwise_mul"), ("_Div", "elemwise_div"),
    ("_PlusScalar", "_plus_scalar"), ("_RMinusScalar", "_rminus_scalar"),
    ("_RDivScalar", "_rdiv_scalar"), ("_PowerScalar", "_power_scalar"), ("_Power", "_power"),
    ("_Greater_Equal", "_greater_equal"), ("concat", "Concat"), ("split", "SliceChannel"),
    ("flatten", "Flatten"), ("reshape", "Reshape"), ("Softmax", "SoftmaxOutput"),
    ("stop_gradient", "BlockGrad"), ("identity", "_copy"), ("ElementWiseSum", "add_n"),
    ("swapaxes", "SwapAxis"), ("flip", "reverse"), ("cast", "Cast"), ("crop", "slice"),
    ("broadcast_plus", "broadcast_add"), ("broadcast_minus", "broadcast_sub"),
    ("sum_axis", "sum"), ("max_axis", "max"), ("choose_element_0index", "pick"),
    ("broadcast_axes", "broadcast_axis"), ("pad", "Pad"),
])
def test_alias_resolution(alias, canonical):
    assert registry.get(alias) is registry.get(canonical)
    assert registry.get(alias).name == canonical


def test_make_loss_and_MakeLoss_are_distinct():
    assert registry.get("make_loss") is not registry.get("MakeLoss")
    assert registry.get("make_loss").list_outputs(registry.get("make_loss").parse_attrs({})) \
        == ["loss"]


def test_unknown_operator():
    assert registry.find("NoSuchOp") is None
    with pytest.raises(MXNetError, match="NoSuchOp"):
        registry.get("NoSuchOp")


# ----------------------------------------------------------------------------------------
# Parameter parsing: MXNet's attribute strings, Python values, and refusals.


@pytest.mark.parametrize("op, key, raw, value", [
    ("Convolution", "kernel", "(3, 3)", (3, 3)),
    ("Convolution", "kernel", "[3,3]", (3, 3)),
    ("Convolution", "kernel", "3", (3,)),
    ("Convolution", "kernel", (2, 2, 2), (2, 2, 2)),
    ("Convolution", "stride", "(1,)", (1,)),
    ("Convolution", "no_bias", "False", False),
    ("Convolution", "no_bias", "1", True),
    ("Convolution", "no_bias", "true", True),
    ("Convolution", "no_bias", True, True),
    ("Convolution", "layout", "NHWC", "NHWC"),
    ("Convolution", "layout", "None", None),
    ("Convolution", "cudnn_tune", "'fastest'", "fastest"),
    ("BatchNorm", "eps", "2e-05", 2e-05),
    ("BatchNorm", "axis", "-1", -1),
    ("BatchNorm", "momentum", 0.9, 0.9),
    ("FullyConnected", "num_hidden", "24", 24),
    ("FullyConnected", "num_hidden", "24.0", 24),
    ("Pooling", "pool_type", "avg", "avg"),
    ("Pooling", "p_value", "None", None),
    ("Pooling", "count_include_pad", "False", False),
    ("sum", "axis", "None", None),
    ("sum", "axis", "(1, -1)", (1, -1)),
    ("sum", "axis", "()", ()),
    ("clip", "a_min", "-inf", -math.inf),
    ("slice", "begin", "(None, 1)", (None, 1)),
    ("slice", "end", "(2, None, -1)", (2, None, -1)),
    ("slice_axis", "end", "None", None),
    ("Cast", "dtype", "float16", np.dtype("float16")),
    ("Cast", "dtype", "'int32'", np.dtype("int32")),
    ("Cast", "dtype", np.float64, np.dtype("float64")),
    ("_plus_scalar", "scalar", "2.5", 2.5),
    ("_plus_scalar", "is_int", "False", False),
    ("softmax", "temperature", "None", None),
    ("softmax", "dtype", "float64", np.dtype("float64")),
])
def test_parse_param(op, key, raw, value):
    attrs = registry.get(op).parse_attrs({**_REQUIRED_OF[op], key: raw})
    assert getattr(attrs, key) == value
    assert type(getattr(attrs, key)) is type(value)
    assert attrs.raw[key] == str(raw)


_REQUIRED_OF = {
    "Convolution": {"kernel": "(3, 3)", "num_filter": "8"}, "BatchNorm": {},
    "FullyConnected": {"num_hidden": "3"}, "Pooling": {}, "sum": {},
    "clip": {"a_min": "0", "a_max": "1"}, "slice": {"begin": "(0,)", "end": "(1,)"},
    "slice_axis": {"axis": "0", "begin": "0", "end": "1"}, "Cast": {"dtype": "float32"},
    "_plus_scalar": {}, "softmax": {},
}


def test_defaults_fill_in_and_hidden_keys_are_skipped():
    op = registry.get("BatchNorm")
    attrs = op.parse_attrs({"fix_gamma": "False", "__init__": '["zero", {}]',
                            "__lr_mult__": "0.5"})
    assert attrs.fix_gamma is False
    assert attrs.eps == pytest.approx(1e-3)
    assert attrs.axis == 1 and attrs.output_mean_var is False
    assert attrs.as_dict()["momentum"] == pytest.approx(0.9)
    with pytest.raises(AttributeError):
        attrs.no_such_param  # noqa: B018


@pytest.mark.parametrize("op, raw, words", [
    ("Convolution", {"kernel": "(3, x)", "num_filter": "8"}, ["Convolution", "kernel"]),
    ("Convolution", {"kernel": "(3, 3)"}, ["Convolution", "num_filter", "missing"]),
    ("Convolution", {"kernel": "(3, 3)", "num_filter": "8", "layout": "HWCN"},
     ["Convolution", "layout", "HWCN"]),
    ("Activation", {"act_type": "swish"}, ["Activation", "act_type", "swish", "relu"]),
    ("FullyConnected", {"num_hidden": "3.5"}, ["FullyConnected", "num_hidden", "3.5"]),
    ("FullyConnected", {"num_hidden": "3", "flaten": "1"}, ["FullyConnected", "flaten"]),
    ("BatchNorm", {"fix_gamma": "maybe"}, ["BatchNorm", "fix_gamma", "maybe"]),
    ("BatchNorm", {"eps": "tiny"}, ["BatchNorm", "eps", "tiny"]),
    ("Cast", {"dtype": "float8"}, ["Cast", "dtype", "float8"]),
    ("Embedding", {"input_dim": "5", "output_dim": "2", "dtype": "bool"},
     ["Embedding", "dtype", "bool"]),
    ("sum", {"axis": "(1, 'a')"}, ["sum", "axis"]),
    ("Pooling", {"pooling_convention": "ceil"}, ["Pooling", "pooling_convention", "ceil"]),
])
def test_bad_params_are_refused_by_name(op, raw, words):
    with pytest.raises(MXNetError) as e:
        registry.get(op).parse_attrs(raw, where="node7")
    for w in [*words, "node7"]:
        assert w in str(e.value)


# ----------------------------------------------------------------------------------------
# Structure that depends on parameters.


def test_batchnorm_structure():
    op = registry.get("BatchNorm")
    a = op.parse_attrs({})
    assert op.list_inputs(a) == ["data", "gamma", "beta", "moving_mean", "moving_var"]
    assert op.list_aux(a) == ["moving_mean", "moving_var"]
    assert op.list_outputs(a) == ["output", "mean", "var"]
    assert op.visible_outputs(a) == 1
    assert op.visible_outputs(op.parse_attrs({"output_mean_var": "True"})) == 3
    assert op.input_var_attrs == {"moving_mean": {"__init__": '["zero", {}]'},
                                  "moving_var": {"__init__": '["one", {}]'}}


@pytest.mark.parametrize("op, raw, inputs", [
    ("FullyConnected", {"num_hidden": "2"}, ["data", "weight", "bias"]),
    ("FullyConnected", {"num_hidden": "2", "no_bias": "True"}, ["data", "weight"]),
    ("Convolution", {"kernel": "(1,)", "num_filter": "2", "no_bias": "1"}, ["data", "weight"]),
    ("Deconvolution", {"kernel": "(1,)", "num_filter": "2"}, ["data", "weight"]),
    ("Deconvolution", {"kernel": "(1,)", "num_filter": "2", "no_bias": "0"},
     ["data", "weight", "bias"]),
    ("Concat", {"num_args": "3"}, ["arg0", "arg1", "arg2"]),
    ("add_n", {"num_args": "2"}, ["arg0", "arg1"]),
    ("stack", {"num_args": "1"}, ["arg0"]),
    ("LeakyReLU", {"act_type": "prelu"}, ["data", "gamma"]),
    ("softmax", {"use_length": "True"}, ["data", "length"]),
    ("SequenceLast", {"use_sequence_length": "True"}, ["data", "sequence_length"]),
    ("UpSampling", {"scale": "2", "sample_type": "bilinear", "num_args": "1"},
     ["data", "weight"]),
    ("_zeros", {"shape": "(2,)"}, []),
])
def test_inputs_depend_on_params(op, raw, inputs):
    o = registry.get(op)
    assert o.list_inputs(o.parse_attrs(raw)) == inputs


@pytest.mark.parametrize("op", ["Concat", "stack", "add_n", "UpSampling"])
def test_key_var_num_args(op):
    assert registry.get(op).key_var_num_args == "num_args"


# ----------------------------------------------------------------------------------------
# Inference from outputs back to inputs: an op whose output shape is known (because a
# consumer fixed it) fills in its inputs exactly where MXNet 1.9.1 does. MXNet refuses
# (rather than leaving unknown) for transpose without axes, L2Normalization, InstanceNorm
# and SequenceMask here; transpose's refusal is mirrored, the others stay unknown.


@pytest.mark.parametrize("case", BACKWARD, ids=lambda c: c[0])
def test_backward_inference(case):
    name, raw, out_shape, expected = case
    op = registry.get(name)
    attrs = op.parse_attrs(raw)
    inputs = op.list_inputs(attrs)
    outs = [tuple(out_shape)] + [None] * (op.num_outputs(attrs) - 1)
    ins, _ = op.shapes(attrs, [None] * len(inputs), outs)
    assert dict(zip(inputs, ins)) == expected


def test_transpose_without_axes_needs_its_input():
    op = registry.get("transpose")
    with pytest.raises(MXNetError, match="transpose"):
        op.shapes(op.parse_attrs({}), [None], [(2, 3)])


def test_elementwise_inputs_complete_each_other():
    op = registry.get("_Plus")
    ins, outs = op.shapes(op.parse_attrs({}), [(2, 0), (0, 3)])
    assert ins == [(2, 3), (2, 3)] and outs == [(2, 3)]


# ----------------------------------------------------------------------------------------
# Error messages name the operator, the input and both shapes.


@pytest.mark.parametrize("op, raw, shapes, words", [
    ("FullyConnected", {"num_hidden": "10"}, [(4, 6), (10, 5), None],
     ["FullyConnected", "weight", "(10, 5)", "(10, 6)"]),
    ("elemwise_add", {}, [(2, 4), (2, 3)], ["elemwise_add", "rhs", "(2, 4)", "(2, 3)"]),
    ("Concat", {"num_args": "2"}, [(2, 3), (3, 4)], ["Concat", "arg1", "(3, 4)"]),
    ("SoftmaxOutput", {}, [(4, 10), (5,)], ["SoftmaxOutput", "label", "(5,)", "(4,)"]),
    ("Convolution", {"kernel": "(5, 5)", "num_filter": "2"}, [(2, 3, 4, 4), None, None],
     ["Convolution", "kernel", "(2, 3, 4, 4)"]),
    ("Convolution", {"kernel": "(3, 3)", "num_filter": "2"}, [(2, 3, 10), None, None],
     ["Convolution", "(2, 3, 10)", "4 dims"]),
    ("SliceChannel", {"num_outputs": "4"}, [(2, 6, 3)], ["SliceChannel", "(2, 6, 3)", "4"]),
    ("broadcast_mul", {}, [(2, 4), (2, 3)], ["broadcast_mul", "(2, 4)", "(2, 3)"]),
    ("batch_dot", {}, [(5, 2, 3), (5, 4, 4)], ["batch_dot", "(5, 2, 3)", "(5, 4, 4)"]),
    ("dot", {}, [(2, 3), (4, 2)], ["dot", "(2, 3)", "(4, 2)"]),
    ("Reshape", {"shape": "(-1, -1)"}, [(2, 3)], ["Reshape", "-1"]),
    ("sum", {"axis": "4"}, [(2, 3, 4, 5)], ["sum", "axis=4"]),
])
def test_shape_errors_say_who_and_what(op, raw, shapes, words):
    o = registry.get(op)
    with pytest.raises(MXNetError) as e:
        o.shapes(o.parse_attrs(raw), shapes)
    for w in words:
        assert w in str(e.value)


# ----------------------------------------------------------------------------------------
# Forward kernels present so far, against MXNet's outputs (rounded to 6 decimals).


@pytest.mark.parametrize("case", KERNELS, ids=lambda c: c[0])
def test_forward_kernel(case):
    name, raw, inputs, (values, dtype, shape) = case
    op = registry.get(name)
    assert op.forward is not None
    if op.key_var_num_args:  # the frontend counts positional inputs for num_args
        raw = {op.key_var_num_args: len(inputs), **raw}
    attrs = op.parse_attrs(raw)
    arrays = [np.array(v, dtype=t) for v, t in inputs]
    (out,) = op.forward(attrs, arrays, OpContext())
    assert out.dtype == np.dtype(dtype)
    assert out.shape == tuple(shape)
    np.testing.assert_allclose(out.astype(np.float64), np.array(values, dtype=np.float64),
                               rtol=2e-6, atol=2e-6, equal_nan=True)
    ins, outs = op.shapes(attrs, [a.shape for a in arrays])
    assert outs[0] == out.shape
