"""``mx.gluon.contrib.rnn``'s convolutional recurrent cells, as MXNet 1.9.1 defines them:
``Conv{1,2,3}D{RNN,LSTM,GRU}Cell`` (https://arxiv.org/abs/1506.04214), whose input-to-state
and state-to-state transforms are ``Convolution``\\ s instead of ``FullyConnected``.

Parameters common to all nine cells
-----------------------------------
input_shape : tuple of int
    Shape of one step's input without the batch axis (``(C, W)``, ``(C, H, W)`` or
    ``(C, D, H, W)`` for channel-first layouts); fixes the state shape.
hidden_channels : int
    Channels of the state (and output).
i2h_kernel, h2h_kernel : int or tuple of int
    Kernels of the input and state convolutions; ``h2h_kernel`` must be odd (the state
    convolution pads to keep its size).
i2h_pad, i2h_dilate, h2h_dilate : int or tuple of int
    Padding and dilation of the input convolution, dilation of the state one.
i2h_weight_initializer, h2h_weight_initializer : str or Initializer, optional
i2h_bias_initializer, h2h_bias_initializer : str or Initializer, default 'zeros'
conv_layout : str, default 'NCW' / 'NCHW' / 'NCDHW'
activation : str or Block, default 'tanh'
prefix : str, optional
params : ParameterDict, optional
"""

from __future__ import annotations

from typing import Any

from ....base import MXNetError, numeric_types
from ...rnn.rnn_cell import HybridRecurrentCell

__all__ = ["Conv1DRNNCell", "Conv2DRNNCell", "Conv3DRNNCell",
           "Conv1DLSTMCell", "Conv2DLSTMCell", "Conv3DLSTMCell",
           "Conv1DGRUCell", "Conv2DGRUCell", "Conv3DGRUCell"]


def _get_conv_out_size(dimensions: tuple, kernels: tuple, paddings: tuple,
                       dilations: tuple) -> tuple:
    return tuple(int(x + 2 * p - d * (k - 1) - 1) + 1 if x else 0
                 for x, k, p, d in zip(dimensions, kernels, paddings, dilations))


class _BaseConvRNNCell(HybridRecurrentCell):
    """The convolutions and parameters the three kinds share."""

    _gate_names: tuple[str, ...] = ("",)

    def __init__(self, input_shape: tuple, hidden_channels: int, i2h_kernel: Any,
                 h2h_kernel: Any, i2h_pad: Any, i2h_dilate: Any, h2h_dilate: Any,
                 i2h_weight_initializer: Any, h2h_weight_initializer: Any,
                 i2h_bias_initializer: Any, h2h_bias_initializer: Any, dims: int,
                 conv_layout: str, activation: Any, prefix: str | None = None,
                 params: Any = None):
        super().__init__(prefix=prefix, params=params)
        self._hidden_channels = hidden_channels
        self._input_shape = input_shape
        self._conv_layout = conv_layout
        self._activation = activation
        specs = (i2h_kernel, i2h_pad, i2h_dilate, h2h_kernel, h2h_dilate)
        if not all(isinstance(s, int) or len(s) == dims for s in specs):
            raise MXNetError(f"For {dims}D convolution, the convolution settings can only be "
                             f"either int or list/tuple of length {dims}")

        def spread(v: Any) -> tuple:
            return (v,) * dims if isinstance(v, numeric_types) else tuple(v)

        self._i2h_kernel = spread(i2h_kernel)
        self._stride = (1,) * dims
        self._i2h_pad = spread(i2h_pad)
        self._i2h_dilate = spread(i2h_dilate)
        self._h2h_kernel = spread(h2h_kernel)
        if not all(k % 2 == 1 for k in self._h2h_kernel):
            raise MXNetError(f"Only support odd number, get h2h_kernel= {h2h_kernel}")
        self._h2h_dilate = spread(h2h_dilate)
        (self._channel_axis, self._in_channels, i2h_param_shape, h2h_param_shape,
         self._h2h_pad, self._state_shape) = self._decide_shapes()
        n = hidden_channels * self._num_gates
        self.i2h_weight = self.params.get("i2h_weight", shape=i2h_param_shape,
                                          init=i2h_weight_initializer, allow_deferred_init=True)
        self.h2h_weight = self.params.get("h2h_weight", shape=h2h_param_shape,
                                          init=h2h_weight_initializer, allow_deferred_init=True)
        self.i2h_bias = self.params.get("i2h_bias", shape=(n,), init=i2h_bias_initializer,
                                        allow_deferred_init=True)
        self.h2h_bias = self.params.get("h2h_bias", shape=(n,), init=h2h_bias_initializer,
                                        allow_deferred_init=True)

    def _decide_shapes(self) -> tuple:
        channel_axis = self._conv_layout.find("C")
        input_shape = self._input_shape
        in_channels = input_shape[channel_axis - 1]
        hidden = self._hidden_channels
        dimensions = input_shape[1:] if channel_axis == 1 else input_shape[:-1]
        total_out = hidden * self._num_gates
        conv_out = _get_conv_out_size(dimensions, self._i2h_kernel, self._i2h_pad,
                                      self._i2h_dilate)
        h2h_pad = tuple(d * (k - 1) // 2 for d, k in zip(self._h2h_dilate, self._h2h_kernel))
        if channel_axis == 1:
            i2h_shape = (total_out, in_channels, *self._i2h_kernel)
            h2h_shape = (total_out, hidden, *self._h2h_kernel)
            state_shape = (hidden, *conv_out)
        else:
            i2h_shape = (total_out, *self._i2h_kernel, in_channels)
            h2h_shape = (total_out, *self._h2h_kernel, hidden)
            state_shape = (*conv_out, hidden)
        return channel_axis, in_channels, i2h_shape, h2h_shape, h2h_pad, state_shape

    def __repr__(self) -> str:
        shape = self.i2h_weight.shape
        in_channels = shape[1 if self._channel_axis == 1 else -1]
        return (f"{self.__class__.__name__}({in_channels if in_channels else None} -> "
                f"{shape[0]}, {self._activation}, {self._conv_layout})")

    @property
    def _num_gates(self) -> int:
        return len(self._gate_names)

    def state_info(self, batch_size: int = 0) -> list:
        info = {"shape": (batch_size, *self._state_shape), "__layout__": self._conv_layout}
        return [dict(info) for _ in range(self._n_states)]

    _n_states = 1

    def _conv_forward(self, F: Any, inputs: Any, states: Any, i2h_weight: Any,  # noqa: N803
                      h2h_weight: Any, i2h_bias: Any, h2h_bias: Any,
                      prefix: str) -> tuple[Any, Any]:
        n = self._hidden_channels * self._num_gates
        i2h = F.Convolution(data=inputs, num_filter=n, kernel=self._i2h_kernel,
                            stride=self._stride, pad=self._i2h_pad, dilate=self._i2h_dilate,
                            weight=i2h_weight, bias=i2h_bias, layout=self._conv_layout,
                            name=prefix + "i2h")
        h2h = F.Convolution(data=states[0], num_filter=n, kernel=self._h2h_kernel,
                            dilate=self._h2h_dilate, pad=self._h2h_pad, stride=self._stride,
                            weight=h2h_weight, bias=h2h_bias, layout=self._conv_layout,
                            name=prefix + "h2h")
        return i2h, h2h


class _ConvRNNCell(_BaseConvRNNCell):
    _gate_names = ("",)

    def _alias(self) -> str:
        return "conv_rnn"

    def hybrid_forward(self, F: Any, inputs: Any, states: Any, i2h_weight: Any,  # noqa: N803
                       h2h_weight: Any, i2h_bias: Any, h2h_bias: Any) -> Any:
        prefix = f"t{self._counter}_"
        i2h, h2h = self._conv_forward(F, inputs, states, i2h_weight, h2h_weight, i2h_bias,
                                      h2h_bias, prefix)
        output = self._get_activation(F, i2h + h2h, self._activation, name=prefix + "out")
        return output, [output]


class _ConvLSTMCell(_BaseConvRNNCell):
    _gate_names = ("_i", "_f", "_c", "_o")
    _n_states = 2

    def _alias(self) -> str:
        return "conv_lstm"

    def hybrid_forward(self, F: Any, inputs: Any, states: Any, i2h_weight: Any,  # noqa: N803
                       h2h_weight: Any, i2h_bias: Any, h2h_bias: Any) -> Any:
        prefix = f"t{self._counter}_"
        i2h, h2h = self._conv_forward(F, inputs, states, i2h_weight, h2h_weight, i2h_bias,
                                      h2h_bias, prefix)
        gates = i2h + h2h
        slice_gates = F.SliceChannel(gates, num_outputs=4, name=prefix + "slice",
                                     axis=self._channel_axis)
        in_gate = F.Activation(slice_gates[0], act_type="sigmoid", name=prefix + "i")
        forget_gate = F.Activation(slice_gates[1], act_type="sigmoid", name=prefix + "f")
        in_transform = self._get_activation(F, slice_gates[2], self._activation,
                                            name=prefix + "c")
        out_gate = F.Activation(slice_gates[3], act_type="sigmoid", name=prefix + "o")
        next_c = F.elemwise_add(forget_gate * states[1], in_gate * in_transform,
                                name=prefix + "state")
        next_h = F.elemwise_mul(out_gate, self._get_activation(F, next_c, self._activation),
                                name=prefix + "out")
        return next_h, [next_h, next_c]


class _ConvGRUCell(_BaseConvRNNCell):
    _gate_names = ("_r", "_z", "_o")

    def _alias(self) -> str:
        return "conv_gru"

    def hybrid_forward(self, F: Any, inputs: Any, states: Any, i2h_weight: Any,  # noqa: N803
                       h2h_weight: Any, i2h_bias: Any, h2h_bias: Any) -> Any:
        prefix = f"t{self._counter}_"
        i2h, h2h = self._conv_forward(F, inputs, states, i2h_weight, h2h_weight, i2h_bias,
                                      h2h_bias, prefix)
        i2h_r, i2h_z, i2h = F.SliceChannel(i2h, num_outputs=3, name=prefix + "i2h_slice",
                                           axis=self._channel_axis)
        h2h_r, h2h_z, h2h = F.SliceChannel(h2h, num_outputs=3, name=prefix + "h2h_slice",
                                           axis=self._channel_axis)
        reset_gate = F.Activation(i2h_r + h2h_r, act_type="sigmoid", name=prefix + "r_act")
        update_gate = F.Activation(i2h_z + h2h_z, act_type="sigmoid", name=prefix + "z_act")
        next_h_tmp = self._get_activation(F, i2h + reset_gate * h2h, self._activation,
                                          name=prefix + "h_act")
        next_h = F.elemwise_add((1.0 - update_gate) * next_h_tmp, update_gate * states[0],
                                name=prefix + "out")
        return next_h, [next_h]


_LAYOUTS = {1: "NCW", 2: "NCHW", 3: "NCDHW"}


def _cell(kind: type, dims: int, name: str, what: str) -> type:
    """The public ``Conv<dims>D<kind>Cell``: ``kind`` with MXNet's defaults for ``dims``."""
    zero, one = (0,) * dims, (1,) * dims

    def __init__(self, input_shape: tuple, hidden_channels: int, i2h_kernel: Any,  # noqa: N807
                 h2h_kernel: Any, i2h_pad: Any = zero, i2h_dilate: Any = one,
                 h2h_dilate: Any = one, i2h_weight_initializer: Any = None,
                 h2h_weight_initializer: Any = None, i2h_bias_initializer: Any = "zeros",
                 h2h_bias_initializer: Any = "zeros", conv_layout: str = _LAYOUTS[dims],
                 activation: Any = "tanh", prefix: str | None = None, params: Any = None):
        kind.__init__(self, input_shape=input_shape, hidden_channels=hidden_channels,
                      i2h_kernel=i2h_kernel, h2h_kernel=h2h_kernel, i2h_pad=i2h_pad,
                      i2h_dilate=i2h_dilate, h2h_dilate=h2h_dilate,
                      i2h_weight_initializer=i2h_weight_initializer,
                      h2h_weight_initializer=h2h_weight_initializer,
                      i2h_bias_initializer=i2h_bias_initializer,
                      h2h_bias_initializer=h2h_bias_initializer, dims=dims,
                      conv_layout=conv_layout, activation=activation, prefix=prefix,
                      params=params)

    doc = (f"{dims}D convolutional {what} cell (parameters: see the module's docstring; "
           f"``conv_layout`` defaults to '{_LAYOUTS[dims]}').")
    return type(name, (kind,), {"__init__": __init__, "__doc__": doc,
                                "__module__": __name__})


Conv1DRNNCell = _cell(_ConvRNNCell, 1, "Conv1DRNNCell", "RNN")
Conv2DRNNCell = _cell(_ConvRNNCell, 2, "Conv2DRNNCell", "RNN")
Conv3DRNNCell = _cell(_ConvRNNCell, 3, "Conv3DRNNCell", "RNN")
Conv1DLSTMCell = _cell(_ConvLSTMCell, 1, "Conv1DLSTMCell", "LSTM")
Conv2DLSTMCell = _cell(_ConvLSTMCell, 2, "Conv2DLSTMCell", "LSTM")
Conv3DLSTMCell = _cell(_ConvLSTMCell, 3, "Conv3DLSTMCell", "LSTM")
Conv1DGRUCell = _cell(_ConvGRUCell, 1, "Conv1DGRUCell", "GRU")
Conv2DGRUCell = _cell(_ConvGRUCell, 2, "Conv2DGRUCell", "GRU")
Conv3DGRUCell = _cell(_ConvGRUCell, 3, "Conv3DGRUCell", "GRU")
