"""Fused recurrent layers (``RNN``, ``LSTM``, ``GRU``) on the ``RNN`` operator, as MXNet 1.9.1.

Parameters are named ``l0_i2h_weight``, ``r0_h2h_bias``... (``l``/``r`` the direction, then
the layer) and packed for the operator with ``_rnn_param_concat`` (weights first, then biases,
layer by layer and direction by direction), so a hybridized layer exports the graph MXNet
exports. Files written by ``save_parameters`` use MXNet's structural names for these layers
(``_unfused.0.l_cell.i2h_weight`` when bidirectional, ``_unfused.0.i2h_weight`` otherwise), so
MXNet's files load and ours load in MXNet.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ... import ndarray, symbol
from ...base import MXNetError
from ...ndarray.ndarray import NDArray
from ..block import HybridBlock
from . import rnn_cell
from .rnn_cell import tensor_types

__all__ = ["RNN", "LSTM", "GRU"]

_PARAM_KEY = re.compile(r"(l|r)(\d)_(i2h|h2h|h2r)_(weight|bias)\Z")


class _RNNLayer(HybridBlock):
    """What the three fused layers share: parameters, states, the call into ``RNN``."""

    def __init__(self, hidden_size: int, num_layers: int, layout: str, dropout: float,
                 bidirectional: bool, input_size: int, i2h_weight_initializer: Any,
                 h2h_weight_initializer: Any, i2h_bias_initializer: Any,
                 h2h_bias_initializer: Any, mode: str, projection_size: int | None,
                 h2r_weight_initializer: Any, lstm_state_clip_min: float | None,
                 lstm_state_clip_max: float | None, lstm_state_clip_nan: bool, dtype: Any,
                 use_sequence_length: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        if layout not in ("TNC", "NTC"):
            raise MXNetError(f"Invalid layout {layout}; must be one of ['TNC' or 'NTC']")
        self._hidden_size = hidden_size
        self._projection_size = projection_size if projection_size else None
        self._num_layers = num_layers
        self._mode = mode
        self._layout = layout
        self._dropout = dropout
        self._dir = 2 if bidirectional else 1
        self._input_size = input_size
        self._i2h_weight_initializer = i2h_weight_initializer
        self._h2h_weight_initializer = h2h_weight_initializer
        self._i2h_bias_initializer = i2h_bias_initializer
        self._h2h_bias_initializer = h2h_bias_initializer
        self._h2r_weight_initializer = h2r_weight_initializer
        self._lstm_state_clip_min = lstm_state_clip_min
        self._lstm_state_clip_max = lstm_state_clip_max
        self._lstm_state_clip_nan = lstm_state_clip_nan
        self._dtype = dtype
        self._use_sequence_length = use_sequence_length
        self.skip_states = None
        self._gates = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}[mode]

        ng, ni, nh = self._gates, input_size, hidden_size
        rec = self._projection_size or nh  # width of the recurrent state
        for i in range(num_layers):
            for j in "lr"[:self._dir]:
                self._register_param(f"{j}{i}_i2h_weight", (ng * nh, ni),
                                     i2h_weight_initializer, dtype)
                self._register_param(f"{j}{i}_h2h_weight", (ng * nh, rec),
                                     h2h_weight_initializer, dtype)
                self._register_param(f"{j}{i}_i2h_bias", (ng * nh,), i2h_bias_initializer,
                                     dtype)
                self._register_param(f"{j}{i}_h2h_bias", (ng * nh,), h2h_bias_initializer,
                                     dtype)
                if self._projection_size:
                    self._register_param(f"{j}{i}_h2r_weight", (rec, nh),
                                         h2r_weight_initializer, dtype)
            ni = rec * self._dir

    def _register_param(self, name: str, shape: tuple, init: Any, dtype: Any) -> Any:
        p = self.params.get(name, shape=shape, init=init, allow_deferred_init=True,
                            dtype=dtype)
        setattr(self, name, p)
        return p

    def __repr__(self) -> str:
        shape = self.l0_i2h_weight.shape
        s = (f"{self.__class__.__name__}({shape[1] if shape[1] else None} -> "
             f"{shape[0] // self._gates}, {self._layout}")
        if self._num_layers != 1:
            s += f", num_layers={self._num_layers}"
        if self._dropout != 0:
            s += f", dropout={self._dropout}"
        if self._dir == 2:
            s += ", bidirectional"
        return s + ")"

    def _collect_params_with_prefix(self, prefix: str = "") -> dict:
        # MXNet's structural names for fused layers: those of the unfused cell stack.
        if prefix:
            prefix += "."
        keys = {k: _PARAM_KEY.match(k) for k in self._reg_params}
        bidirectional = any(m.group(1) == "r" for m in keys.values() if m)

        def convert(key: str) -> str:
            m = keys[key]
            if m is None:
                return key
            d, layer, g, t = m.groups()
            if bidirectional:
                return f"_unfused.{layer}.{d}_cell.{g}_{t}"
            return f"_unfused.{layer}.{g}_{t}"

        ret = {prefix + convert(k): v for k, v in self._reg_params.items()}
        for name, child in self._children.items():
            ret.update(child._collect_params_with_prefix(prefix + name))
        return ret

    def state_info(self, batch_size: int = 0) -> list:
        raise NotImplementedError

    def _unfuse(self) -> rnn_cell.HybridSequentialRNNCell:
        """The same network as a stack of cells sharing this layer's parameters."""
        if self._projection_size:
            raise MXNetError("_unfuse does not support projection layer yet!")
        if self._lstm_state_clip_min or self._lstm_state_clip_max:
            raise MXNetError("_unfuse does not support state clipping yet!")
        hidden = self._hidden_size

        def get_cell(**kwargs: Any) -> rnn_cell.HybridRecurrentCell:
            if self._mode == "rnn_relu":
                return rnn_cell.RNNCell(hidden, activation="relu", **kwargs)
            if self._mode == "rnn_tanh":
                return rnn_cell.RNNCell(hidden, activation="tanh", **kwargs)
            if self._mode == "lstm":
                return rnn_cell.LSTMCell(hidden, **kwargs)
            return rnn_cell.GRUCell(hidden, **kwargs)

        stack = rnn_cell.HybridSequentialRNNCell(prefix=self.prefix, params=self.params)
        with stack.name_scope():
            ni = self._input_size
            for i in range(self._num_layers):
                kwargs = {"input_size": ni,
                          "i2h_weight_initializer": self._i2h_weight_initializer,
                          "h2h_weight_initializer": self._h2h_weight_initializer,
                          "i2h_bias_initializer": self._i2h_bias_initializer,
                          "h2h_bias_initializer": self._h2h_bias_initializer}
                if self._dir == 2:
                    stack.add(rnn_cell.BidirectionalCell(get_cell(prefix=f"l{i}_", **kwargs),
                                                         get_cell(prefix=f"r{i}_", **kwargs)))
                else:
                    stack.add(get_cell(prefix=f"l{i}_", **kwargs))
                if self._dropout > 0 and i != self._num_layers - 1:
                    stack.add(rnn_cell.DropoutCell(self._dropout))
                ni = hidden * self._dir
        return stack

    def cast(self, dtype: Any) -> None:
        super().cast(dtype)
        self._dtype = dtype

    def begin_state(self, batch_size: int = 0, func: Callable = ndarray.zeros,
                    **kwargs: Any) -> list:
        """Initial states (``[h]``, or ``[h, c]`` for an LSTM), each made by ``func`` with
        its shape ``(num_layers * directions, batch_size, size)``, dtype and ``kwargs``; named
        ``<prefix>h0_<k>``."""
        states = []
        for i, info in enumerate(self.state_info(batch_size)):
            info = dict(info) if info is not None else {}
            info.update(kwargs)
            states.append(func(name=f"{self.prefix}h0_{i}", **info))
        return states

    def __call__(self, inputs: Any, states: Any = None, sequence_length: Any = None,
                 **kwargs: Any) -> Any:
        self.skip_states = states is None
        if states is None:
            if isinstance(inputs, NDArray):
                batch_size = inputs.shape[self._layout.find("N")]
                states = self.begin_state(batch_size, ctx=inputs.context, dtype=inputs.dtype)
            else:
                states = self.begin_state(0, func=symbol.zeros)
        if isinstance(states, tensor_types):
            states = [states]
        if self._use_sequence_length:
            return super().__call__(inputs, states, sequence_length, **kwargs)
        return super().__call__(inputs, states, **kwargs)

    def hybrid_forward(self, F: Any, inputs: Any, states: Any, sequence_length: Any = None,  # noqa: N803
                       **kwargs: Any) -> Any:
        if F is ndarray:
            batch_size = inputs.shape[self._layout.find("N")]
            for state, info in zip(states, self.state_info(batch_size)):
                if state.shape != info["shape"]:
                    raise MXNetError(f"Invalid recurrent state shape. Expecting "
                                     f"{info['shape']}, got {state.shape}.")
        out = self._forward_kernel(F, inputs, states, sequence_length, **kwargs)
        return out[0] if self.skip_states else out

    def _forward_kernel(self, F: Any, inputs: Any, states: list, sequence_length: Any,  # noqa: N803
                        **kwargs: Any) -> tuple[Any, list]:
        if self._layout == "NTC":
            inputs = F.swapaxes(inputs, 0, 1)
        kinds = ("i2h", "h2h", "h2r") if self._projection_size else ("i2h", "h2h")
        params = [kwargs[f"{d}{layer}_{g}_{t}"].reshape(-1)
                  for t in ("weight", "bias")
                  for layer in range(self._num_layers)
                  for d in "lr"[:self._dir]
                  for g in kinds
                  if g != "h2r" or t != "bias"]
        packed = F._internal._rnn_param_concat(*params, dim=0)
        args = [*states, sequence_length] if self._use_sequence_length else list(states)
        rnn = F.RNN(inputs, packed, *args, use_sequence_length=self._use_sequence_length,
                    state_size=self._hidden_size, projection_size=self._projection_size,
                    num_layers=self._num_layers, bidirectional=self._dir == 2,
                    p=self._dropout, state_outputs=True, mode=self._mode,
                    lstm_state_clip_min=self._lstm_state_clip_min,
                    lstm_state_clip_max=self._lstm_state_clip_max,
                    lstm_state_clip_nan=self._lstm_state_clip_nan)
        if self._mode == "lstm":
            outputs, states = rnn[0], [rnn[1], rnn[2]]
        else:
            outputs, states = rnn[0], [rnn[1]]
        if self._layout == "NTC":
            outputs = F.swapaxes(outputs, 0, 1)
        return outputs, states


def _state(shape: tuple, dtype: Any) -> dict:
    return {"shape": shape, "__layout__": "LNC", "dtype": dtype}


class RNN(_RNNLayer):
    r"""A multi-layer Elman RNN, :math:`h_t = act(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} +
    b_{hh})` with ``activation`` 'relu' or 'tanh'.

    Parameters
    ----------
    hidden_size : int
    num_layers : int, default 1
    activation : {'relu', 'tanh'}, default 'relu'
    layout : {'TNC', 'NTC'}, default 'TNC'
    dropout : float, default 0
        Dropout on the outputs of each layer but the last (training only).
    bidirectional : bool, default False
    i2h_weight_initializer, h2h_weight_initializer : str or Initializer
    i2h_bias_initializer, h2h_bias_initializer : str or Initializer, default 'zeros'
    input_size : int, default 0
        0 infers it from the first input.
    dtype : str, default 'float32'
    prefix, params : as for any Block.

    Called as ``layer(data)`` (zero initial states; returns the output) or ``layer(data,
    states)`` (returns ``(output, new_states)``). States: ``[h]`` of shape ``(num_layers *
    directions, N, hidden_size)``.
    """

    def __init__(self, hidden_size: int, num_layers: int = 1, activation: str = "relu",
                 layout: str = "TNC", dropout: float = 0, bidirectional: bool = False,
                 i2h_weight_initializer: Any = None, h2h_weight_initializer: Any = None,
                 i2h_bias_initializer: Any = "zeros", h2h_bias_initializer: Any = "zeros",
                 input_size: int = 0, dtype: Any = "float32", **kwargs: Any):
        if activation not in ("relu", "tanh"):
            raise MXNetError(f"RNN: activation must be 'relu' or 'tanh', got {activation!r}")
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                         h2h_bias_initializer, "rnn_" + activation, None, None, None, None,
                         False, dtype, **kwargs)

    def state_info(self, batch_size: int = 0) -> list:
        return [_state((self._num_layers * self._dir, batch_size, self._hidden_size),
                       self._dtype)]


class LSTM(_RNNLayer):
    r"""A multi-layer LSTM (gates i, f, g, o; :math:`c_t = f c_{t-1} + i g`,
    :math:`h_t = o \tanh(c_t)`), optionally with a projection of ``h`` (LSTMP).

    Parameters
    ----------
    hidden_size : int
    num_layers : int, default 1
    layout : {'TNC', 'NTC'}, default 'TNC'
    dropout : float, default 0
    bidirectional : bool, default False
    input_size : int, default 0
    i2h_weight_initializer, h2h_weight_initializer : str or Initializer
    i2h_bias_initializer, h2h_bias_initializer : str or Initializer, default 'zeros'
    projection_size : int, optional
        Width of the projected recurrent state and of the output.
    h2r_weight_initializer : str or Initializer
    state_clip_min, state_clip_max : float, optional
        Clip the cell state to this range after every step (both or neither).
    state_clip_nan : bool, default False
        Clip a NaN cell state too (to ``state_clip_min``) instead of propagating it.
    dtype : str, default 'float32'
    use_sequence_length : bool, default False
        Take a ``sequence_length`` argument ``(N,)``: each sequence stops at its length.

    States: ``[h, c]``, ``h`` of shape ``(num_layers * directions, N, projection_size or
    hidden_size)`` and ``c`` of ``(num_layers * directions, N, hidden_size)``.
    """

    def __init__(self, hidden_size: int, num_layers: int = 1, layout: str = "TNC",
                 dropout: float = 0, bidirectional: bool = False, input_size: int = 0,
                 i2h_weight_initializer: Any = None, h2h_weight_initializer: Any = None,
                 i2h_bias_initializer: Any = "zeros", h2h_bias_initializer: Any = "zeros",
                 projection_size: int | None = None, h2r_weight_initializer: Any = None,
                 state_clip_min: float | None = None, state_clip_max: float | None = None,
                 state_clip_nan: bool = False, dtype: Any = "float32", **kwargs: Any):
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                         h2h_bias_initializer, "lstm", projection_size, h2r_weight_initializer,
                         state_clip_min, state_clip_max, state_clip_nan, dtype, **kwargs)

    def state_info(self, batch_size: int = 0) -> list:
        n = self._num_layers * self._dir
        return [_state((n, batch_size, self._projection_size or self._hidden_size),
                       self._dtype),
                _state((n, batch_size, self._hidden_size), self._dtype)]


class GRU(_RNNLayer):
    r"""A multi-layer GRU, cuDNN's variant (gates r, z, n; the reset gate scales h2h's
    output: :math:`n = \tanh(W_{in} x + b_{in} + r (W_{hn} h + b_{hn}))`).

    Parameters
    ----------
    hidden_size : int
    num_layers : int, default 1
    layout : {'TNC', 'NTC'}, default 'TNC'
    dropout : float, default 0
    bidirectional : bool, default False
    input_size : int, default 0
    i2h_weight_initializer, h2h_weight_initializer : str or Initializer
    i2h_bias_initializer, h2h_bias_initializer : str or Initializer, default 'zeros'
    dtype : str, default 'float32'

    States: ``[h]`` of shape ``(num_layers * directions, N, hidden_size)``.
    """

    def __init__(self, hidden_size: int, num_layers: int = 1, layout: str = "TNC",
                 dropout: float = 0, bidirectional: bool = False, input_size: int = 0,
                 i2h_weight_initializer: Any = None, h2h_weight_initializer: Any = None,
                 i2h_bias_initializer: Any = "zeros", h2h_bias_initializer: Any = "zeros",
                 dtype: Any = "float32", **kwargs: Any):
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                         h2h_bias_initializer, "gru", None, None, None, None, False, dtype,
                         **kwargs)

    def state_info(self, batch_size: int = 0) -> list:
        return [_state((self._num_layers * self._dir, batch_size, self._hidden_size),
                       self._dtype)]
