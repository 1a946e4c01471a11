"""MXNet 1.9.1's legacy symbolic RNN cells (``mx.rnn.*Cell``).

A cell builds, step by step, the symbols of one recurrent layer out of ordinary operators
(``FullyConnected``, ``SliceChannel``, ``Activation`` ...); ``unroll`` repeats it over time.
``FusedRNNCell`` instead emits one ``RNN`` operator whose weights are a single flat vector;
``unpack_weights`` / ``pack_weights`` convert between that vector (or a cell's stacked gate
matrices) and one array per gate, with MXNet's names, so checkpoints move between the two.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import initializer, ndarray, symbol
from ..base import MXNetError, numeric_types
from ..ndarray.ndarray import NDArray
from ..symbol import Symbol

__all__ = ["RNNParams", "BaseRNNCell", "RNNCell", "LSTMCell", "GRUCell", "FusedRNNCell",
           "SequentialRNNCell", "DropoutCell", "ModifierCell", "ZoneoutCell", "ResidualCell",
           "BidirectionalCell", "BaseConvRNNCell", "ConvRNNCell", "ConvLSTMCell", "ConvGRUCell"]

Args = dict[str, NDArray]


def _check_num_hidden(num_hidden: Any, who: str) -> int:
    if isinstance(num_hidden, bool) or not isinstance(num_hidden, (int, np.integer)) \
            or num_hidden <= 0:
        raise MXNetError(f"{who}: num_hidden must be a positive integer, got {num_hidden!r}")
    return int(num_hidden)


def _check_prefix(prefix: Any, who: str) -> str:
    if not isinstance(prefix, str):
        raise MXNetError(f"{who}: prefix must be a string, got {type(prefix).__name__}")
    return prefix


def _normalize_sequence(length: int | None, inputs: Any, layout: str,
                        merge: bool | None, in_layout: str | None = None
                        ) -> tuple[Symbol | list[Symbol], int]:
    """Bring ``inputs`` to the form a step loop (``merge=False``: a list of per-step symbols)
    or a fused operator (``merge=True``: one symbol with a time axis) needs; ``None`` keeps
    whatever it is. Returns it with the time axis of ``layout``."""
    if inputs is None:
        raise MXNetError("unroll: inputs=None is no longer supported (as in MXNet); create "
                         "the input variables outside unroll")
    if not isinstance(layout, str) or "T" not in layout:
        raise MXNetError(f"unroll: layout must be a string with a 'T' axis, got {layout!r}")
    axis = layout.find("T")
    in_axis = in_layout.find("T") if in_layout is not None else axis
    if isinstance(inputs, Symbol):
        if merge is False:
            if len(inputs.list_outputs()) != 1:
                raise MXNetError("unroll: inputs is a grouped symbol; pass list(inputs), or "
                                 "one symbol for unroll to split along time")
            inputs = list(symbol.split(inputs, axis=in_axis, num_outputs=length,
                                       squeeze_axis=1))
    else:
        if not isinstance(inputs, (list, tuple)) or \
                not all(isinstance(i, Symbol) for i in inputs):
            raise MXNetError("unroll: inputs must be a Symbol or a list of Symbols, got "
                             f"{type(inputs).__name__}")
        if length is not None and len(inputs) != length:
            raise MXNetError(f"unroll: length is {length} but inputs has {len(inputs)} "
                             "symbols")
        inputs = list(inputs)
        if merge is True:
            inputs = symbol.Concat(*[symbol.expand_dims(i, axis=axis) for i in inputs],
                                   dim=axis)
            in_axis = axis
    if isinstance(inputs, Symbol) and axis != in_axis:
        inputs = symbol.swapaxes(inputs, dim1=axis, dim2=in_axis)
    return inputs, axis


class RNNParams:
    """Holder of the weight variables of one or more cells, so cells can share them.

    Parameters
    ----------
    prefix : str
        Put in front of every variable name this container creates.
    """

    def __init__(self, prefix: str = ""):
        self._prefix = _check_prefix(prefix, "RNNParams")
        self._params: dict[str, Symbol] = {}

    def get(self, name: str, **kwargs: Any) -> Symbol:
        """The variable ``prefix + name``, created (with ``kwargs`` passed to
        ``symbol.Variable``, e.g. ``init``) the first time it is asked for.
        """
        name = self._prefix + name
        if name not in self._params:
            self._params[name] = symbol.Variable(name, **kwargs)
        return self._params[name]


class BaseRNNCell:
    """Abstract base class of the symbolic RNN cells.

    Parameters
    ----------
    prefix : str, optional
        Prefix of the names of the layers the cell creates (and of its weights when
        ``params`` is None, i.e. when they are created rather than shared).
    params : RNNParams, optional
        Container to share weights between cells; a new one is made if None.
    """

    def __init__(self, prefix: str = "", params: RNNParams | None = None):
        _check_prefix(prefix, type(self).__name__)
        if params is None:
            params = RNNParams(prefix)
            self._own_params = True
        else:
            if not isinstance(params, RNNParams):
                raise MXNetError(f"{type(self).__name__}: params must be an RNNParams, got "
                                 f"{type(params).__name__}")
            self._own_params = False
        self._prefix = prefix
        self._params = params
        self._modified = False
        self.reset()

    def reset(self) -> None:
        """Reset the step counters before building another graph with the cell."""
        self._init_counter = -1
        self._counter = -1
        for cell in getattr(self, "_cells", ()):
            cell.reset()

    def __call__(self, inputs: Symbol, states: list[Symbol]) -> tuple[Symbol, list[Symbol]]:
        """One time step: ``(output, new_states)`` for a ``(batch, features)`` input and the
        states of the previous step (or of :meth:`begin_state`)."""
        raise NotImplementedError()

    @property
    def params(self) -> RNNParams:
        """The cell's weight container (asking for it means it may now be shared)."""
        self._own_params = False
        return self._params

    @property
    def state_info(self) -> list[dict[str, Any]]:
        """Shape and layout of each state, as ``{'shape': ..., '__layout__': ...}``."""
        raise NotImplementedError()

    @property
    def state_shape(self) -> list[tuple[int, ...]]:
        """Shape of each state (0 where the batch size goes)."""
        return [info["shape"] for info in self.state_info]

    @property
    def _gate_names(self) -> Sequence[str]:
        return ()

    def _check_unmodified(self) -> None:
        if self._modified:
            raise MXNetError("After applying modifier cells (e.g. ZoneoutCell) the base cell "
                             "cannot be called directly. Call the modifier cell instead.")

    def begin_state(self, func: Callable[..., Symbol] = symbol.zeros,
                    **kwargs: Any) -> list[Symbol]:
        """The states of the first step, one symbol per state made by ``func``.

        Parameters
        ----------
        func : callable, default symbol.zeros
            Makes each state from ``name`` and the state's ``shape`` / ``__layout__``
            (plus ``kwargs``): ``symbol.zeros``, ``symbol.uniform``, ``symbol.Variable`` (to
            feed the states as inputs) ...
        **kwargs
            More arguments for ``func`` (``dtype``, ``low`` ...).
        """
        self._check_unmodified()
        states = []
        for info in self.state_info:
            self._init_counter += 1
            if info is not None:
                kwargs.update(info)
            states.append(func(name=f"{self._prefix}begin_state_{self._init_counter}",
                               **kwargs))
        return states

    def unpack_weights(self, args: Args) -> Args:
        """Split the cell's stacked weights into one array per gate.

        ``args`` (e.g. ``Module.get_params()[0]``) has ``<prefix>i2h_weight`` etc. holding all
        gates stacked; the result has ``<prefix>i2h<gate>_weight`` etc. instead (gates
        ``_i _f _c _o`` for LSTM, ``_r _z _o`` for GRU, ``''`` for RNN), other entries
        unchanged. :meth:`pack_weights` reverses it.
        """
        args = dict(args)
        gates = self._gate_names
        if not gates:
            return args
        h = self._num_hidden
        for group in ("i2h", "h2h"):
            weight = _pop(args, f"{self._prefix}{group}_weight")
            bias = _pop(args, f"{self._prefix}{group}_bias")
            for j, gate in enumerate(gates):
                args[f"{self._prefix}{group}{gate}_weight"] = weight[j * h:(j + 1) * h].copy()
                args[f"{self._prefix}{group}{gate}_bias"] = bias[j * h:(j + 1) * h].copy()
        return args

    def pack_weights(self, args: Args) -> Args:
        """Stack the per-gate arrays of :meth:`unpack_weights` back into the cell's weights."""
        args = dict(args)
        gates = self._gate_names
        if not gates:
            return args
        for group in ("i2h", "h2h"):
            weights = [_pop(args, f"{self._prefix}{group}{g}_weight") for g in gates]
            biases = [_pop(args, f"{self._prefix}{group}{g}_bias") for g in gates]
            args[f"{self._prefix}{group}_weight"] = ndarray.concatenate(weights)
            args[f"{self._prefix}{group}_bias"] = ndarray.concatenate(biases)
        return args

    def unroll(self, length: int, inputs: Symbol | Sequence[Symbol],
               begin_state: list[Symbol] | None = None, layout: str = "NTC",
               merge_outputs: bool | None = None) -> tuple[Symbol | list[Symbol], list[Any]]:
        """Unroll the cell over ``length`` time steps.

        Parameters
        ----------
        length : int
            Number of steps.
        inputs : Symbol or list of Symbol
            One symbol of shape ``(batch, length, ...)`` for layout ``'NTC'`` or
            ``(length, batch, ...)`` for ``'TNC'`` (split along time here), or a list of
            ``length`` symbols of shape ``(batch, ...)``.
        begin_state : list of Symbol, optional
            The initial states; :meth:`begin_state` if None.
        layout : str, default 'NTC'
            Layout of ``inputs`` when it is one symbol, and of merged outputs.
        merge_outputs : bool, optional
            True: the outputs as one symbol with a time axis (per ``layout``); False: a list
            of per-step symbols; None: whichever the cell produces naturally.

        Returns
        -------
        outputs : Symbol or list of Symbol
        states : list of Symbol
            The states after the last step, in the form of :meth:`begin_state`.
        """
        self.reset()
        steps, _ = _normalize_sequence(length, inputs, layout, False)
        if begin_state is None:
            begin_state = self.begin_state()
        states = begin_state
        outputs = []
        for t in range(length):
            output, states = self(steps[t], states)
            outputs.append(output)
        merged, _ = _normalize_sequence(length, outputs, layout, merge_outputs)
        return merged, states

    def _dense_params(self) -> None:
        """The i2h and h2h weights and biases of a fully connected cell (``RNNCell``,
        ``GRUCell``), created in MXNet's order."""
        self._iW = self.params.get("i2h_weight")
        self._iB = self.params.get("i2h_bias")
        self._hW = self.params.get("h2h_weight")
        self._hB = self.params.get("h2h_bias")

    def _i2h_h2h(self, inputs: Symbol, prev_h: Symbol, gates: int, name: str
                 ) -> tuple[Symbol, Symbol]:
        """One step's input and hidden transforms, ``gates`` x ``num_hidden`` units each,
        named ``<name>i2h`` and ``<name>h2h``."""
        n = self._num_hidden * gates
        return (symbol.FullyConnected(data=inputs, weight=self._iW, bias=self._iB,
                                      num_hidden=n, name=f"{name}i2h"),
                symbol.FullyConnected(data=prev_h, weight=self._hW, bias=self._hB,
                                      num_hidden=n, name=f"{name}h2h"))

    def _get_activation(self, inputs: Symbol, activation: Any, **kwargs: Any) -> Symbol:
        """``activation`` applied to ``inputs``: an ``act_type`` name or a callable."""
        if isinstance(activation, str):
            return symbol.Activation(inputs, act_type=activation, **kwargs)
        return activation(inputs, **kwargs)


def _pop(args: dict, name: str) -> Any:
    try:
        return args.pop(name)
    except KeyError:
        raise MXNetError(f"args has no parameter {name!r}") from None


def _cells_state_info(cells: Sequence[BaseRNNCell]) -> list[dict[str, Any]]:
    return [info for c in cells for info in c.state_info]


def _cells_begin_state(cells: Sequence[BaseRNNCell], **kwargs: Any) -> list[Symbol]:
    return [s for c in cells for s in c.begin_state(**kwargs)]


def _cells_unpack_weights(cells: Sequence[BaseRNNCell], args: Args) -> Args:
    for cell in cells:
        args = cell.unpack_weights(args)
    return args


def _cells_pack_weights(cells: Sequence[BaseRNNCell], args: Args) -> Args:
    for cell in cells:
        args = cell.pack_weights(args)
    return args


class RNNCell(BaseRNNCell):
    """Elman RNN cell: ``out = activation(W_i x + b_i + W_h h + b_h)``.

    Parameters
    ----------
    num_hidden : int
        Number of units of the output.
    activation : str or callable, default 'tanh'
        An ``Activation`` ``act_type`` ('tanh', 'relu' ...) or a function of a symbol.
    prefix : str, default 'rnn_'
        Prefix of the layer (and, if ``params`` is None, weight) names.
    params : RNNParams, optional
        Container to share weights; created if None.
    """

    def __init__(self, num_hidden: int, activation: Any = "tanh", prefix: str = "rnn_",
                 params: RNNParams | None = None):
        super().__init__(prefix=prefix, params=params)
        self._num_hidden = _check_num_hidden(num_hidden, "RNNCell")
        self._activation = activation
        self._dense_params()

    @property
    def state_info(self) -> list[dict[str, Any]]:
        return [{"shape": (0, self._num_hidden), "__layout__": "NC"}]

    @property
    def _gate_names(self) -> Sequence[str]:
        return ("",)

    def __call__(self, inputs: Symbol, states: list[Symbol]) -> tuple[Symbol, list[Symbol]]:
        self._counter += 1
        name = f"{self._prefix}t{self._counter}_"
        i2h, h2h = self._i2h_h2h(inputs, states[0], 1, name)
        output = self._get_activation(i2h + h2h, self._activation, name=f"{name}out")
        return output, [output]


class LSTMCell(BaseRNNCell):
    """Long short-term memory cell (gates stacked in the order input, forget, cell, output).

    Parameters
    ----------
    num_hidden : int
        Number of units of the output.
    prefix : str, default 'lstm_'
        Prefix of the layer (and, if ``params`` is None, weight) names.
    params : RNNParams, optional
        Container to share weights; created if None.
    forget_bias : float, default 1.0
        Initial value of the forget gate's part of ``i2h_bias`` (its initializer is
        ``LSTMBias``), as Jozefowicz et al. 2015 recommend.
    """

    def __init__(self, num_hidden: int, prefix: str = "lstm_", params: RNNParams | None = None,
                 forget_bias: float = 1.0):
        super().__init__(prefix=prefix, params=params)
        self._num_hidden = _check_num_hidden(num_hidden, "LSTMCell")
        self._iW = self.params.get("i2h_weight")
        self._hW = self.params.get("h2h_weight")
        self._iB = self.params.get("i2h_bias",
                                   init=initializer.LSTMBias(forget_bias=forget_bias))
        self._hB = self.params.get("h2h_bias")

    @property
    def state_info(self) -> list[dict[str, Any]]:
        return [{"shape": (0, self._num_hidden), "__layout__": "NC"},
                {"shape": (0, self._num_hidden), "__layout__": "NC"}]

    @property
    def _gate_names(self) -> Sequence[str]:
        return ["_i", "_f", "_c", "_o"]

    def __call__(self, inputs: Symbol, states: list[Symbol]) -> tuple[Symbol, list[Symbol]]:
        self._counter += 1
        name = f"{self._prefix}t{self._counter}_"
        i2h, h2h = self._i2h_h2h(inputs, states[0], 4, name)
        gates = symbol.SliceChannel(i2h + h2h, num_outputs=4, name=f"{name}slice")
        in_gate = symbol.Activation(gates[0], act_type="sigmoid", name=f"{name}i")
        forget_gate = symbol.Activation(gates[1], act_type="sigmoid", name=f"{name}f")
        in_transform = symbol.Activation(gates[2], act_type="tanh", name=f"{name}c")
        out_gate = symbol.Activation(gates[3], act_type="sigmoid", name=f"{name}o")
        next_c = symbol._internal._plus(forget_gate * states[1], in_gate * in_transform,
                                        name=f"{name}state")
        next_h = symbol._internal._mul(out_gate, symbol.Activation(next_c, act_type="tanh"),
                                       name=f"{name}out")
        return next_h, [next_h, next_c]


class GRUCell(BaseRNNCell):
    """Gated recurrent unit cell, in cuDNN's variant (the reset gate scales the transformed
    hidden state, a small change from Cho et al. 2014); gates stacked as reset, update, new.

    Parameters
    ----------
    num_hidden : int
        Number of units of the output.
    prefix : str, default 'gru_'
        Prefix of the layer (and, if ``params`` is None, weight) names.
    params : RNNParams, optional
        Container to share weights; created if None.
    """

    def __init__(self, num_hidden: int, prefix: str = "gru_", params: RNNParams | None = None):
        super().__init__(prefix=prefix, params=params)
        self._num_hidden = _check_num_hidden(num_hidden, "GRUCell")
        self._dense_params()

    @property
    def state_info(self) -> list[dict[str, Any]]:
        return [{"shape": (0, self._num_hidden), "__layout__": "NC"}]

    @property
    def _gate_names(self) -> Sequence[str]:
        return ["_r", "_z", "_o"]

    def __call__(self, inputs: Symbol, states: list[Symbol]) -> tuple[Symbol, list[Symbol]]:
        self._counter += 1
        name = f"{self._prefix}t{self._counter}_"
        prev_h = states[0]
        i2h, h2h = self._i2h_h2h(inputs, prev_h, 3, f"{name}_")
        i2h_r, i2h_z, i2h = symbol.SliceChannel(i2h, num_outputs=3, name=f"{name}_i2h_slice")
        h2h_r, h2h_z, h2h = symbol.SliceChannel(h2h, num_outputs=3, name=f"{name}_h2h_slice")
        reset_gate = symbol.Activation(i2h_r + h2h_r, act_type="sigmoid", name=f"{name}_r_act")
        update_gate = symbol.Activation(i2h_z + h2h_z, act_type="sigmoid",
                                        name=f"{name}_z_act")
        candidate = symbol.Activation(i2h + reset_gate * h2h, act_type="tanh",
                                      name=f"{name}_h_act")
        next_h = symbol._internal._plus((1. - update_gate) * candidate, update_gate * prev_h,
                                        name=f"{name}out")
        return next_h, [next_h]


_FUSED_GATES = {"rnn_relu": [""], "rnn_tanh": [""], "lstm": ["_i", "_f", "_c", "_o"],
                "gru": ["_r", "_z", "_o"]}


class FusedRNNCell(BaseRNNCell):
    """All layers and time steps of an RNN as one ``RNN`` operator (cuDNN's fused kernel in
    MXNet; mxlite runs the same operator on the CPU). It cannot be stepped, only unrolled;
    :meth:`unfuse` gives the equivalent stack of step cells with the same weight names.

    Parameters
    ----------
    num_hidden : int
        Number of units of each layer's output.
    num_layers : int, default 1
        Number of stacked layers.
    mode : str, default 'lstm'
        'rnn_relu', 'rnn_tanh', 'lstm' or 'gru'.
    bidirectional : bool, default False
        Run each layer both ways (the output size doubles).
    dropout : float, default 0.
        Dropout between layers, in training.
    get_next_state : bool, default False
        Also return the final states (for the next unroll).
    forget_bias : float, default 1.0
        Initial forget-gate bias of 'lstm' (set on both the i2h and h2h parts).
    prefix : str, optional
        Prefix of the names; ``'<mode>_'`` (e.g. 'lstm_') if None.
    params : RNNParams, optional
        Container to share weights; created if None.
    """

    def __init__(self, num_hidden: int, num_layers: int = 1, mode: str = "lstm",
                 bidirectional: bool = False, dropout: float = 0., get_next_state: bool = False,
                 forget_bias: float = 1.0, prefix: str | None = None,
                 params: RNNParams | None = None):
        if mode not in _FUSED_GATES:
            raise MXNetError(f"FusedRNNCell: mode must be one of {sorted(_FUSED_GATES)}, got "
                             f"{mode!r}")
        if isinstance(num_layers, bool) or not isinstance(num_layers, (int, np.integer)) \
                or num_layers <= 0:
            raise MXNetError(f"FusedRNNCell: num_layers must be a positive integer, got "
                             f"{num_layers!r}")
        if not isinstance(dropout, numeric_types) or not 0 <= dropout < 1:
            raise MXNetError(f"FusedRNNCell: dropout must be a number in [0, 1), got "
                             f"{dropout!r}")
        if prefix is None:
            prefix = f"{mode}_"
        super().__init__(prefix=prefix, params=params)
        self._num_hidden = _check_num_hidden(num_hidden, "FusedRNNCell")
        self._num_layers = int(num_layers)
        self._mode = mode
        self._bidirectional = bool(bidirectional)
        self._dropout = dropout
        self._get_next_state = get_next_state
        self._directions = ["l", "r"] if bidirectional else ["l"]
        init = FusedRNN(None, num_hidden, num_layers, mode, bidirectional, forget_bias)
        self._parameter = self.params.get("parameters", init=init)

    @property
    def state_info(self) -> list[dict[str, Any]]:
        b = self._bidirectional + 1
        n = (self._mode == "lstm") + 1
        return [{"shape": (b * self._num_layers, 0, self._num_hidden), "__layout__": "LNC"}
                for _ in range(n)]

    @property
    def _gate_names(self) -> Sequence[str]:
        return _FUSED_GATES[self._mode]

    @property
    def _num_gates(self) -> int:
        return len(self._gate_names)

    def _slice_weights(self, arr: NDArray, li: int, lh: int) -> Args:
        """Views of the flat ``arr`` as the per-layer, per-direction, per-gate weights, in
        the ``RNN`` operator's order: every weight (layer by layer, i2h gates then h2h gates)
        before every bias."""
        views: Args = {}
        b = len(self._directions)
        p = 0
        for layer in range(self._num_layers):
            cols = li if layer == 0 else b * lh
            for d in self._directions:
                for group, width in (("i2h", cols), ("h2h", lh)):
                    for gate in self._gate_names:
                        size = lh * width
                        views[f"{self._prefix}{d}{layer}_{group}{gate}_weight"] = \
                            arr[p:p + size].reshape((lh, width))
                        p += size
        for layer in range(self._num_layers):
            for d in self._directions:
                for group in ("i2h", "h2h"):
                    for gate in self._gate_names:
                        views[f"{self._prefix}{d}{layer}_{group}{gate}_bias"] = arr[p:p + lh]
                        p += lh
        if p != arr.size:
            raise MXNetError(f"FusedRNNCell: the parameters have {arr.size} values, the cell's "
                             f"layers need {p}")
        return views

    def unpack_weights(self, args: Args) -> Args:
        args = dict(args)
        arr = _pop(args, self._parameter.name)
        b, m, h = len(self._directions), self._num_gates, self._num_hidden
        # size = m*h*b*(li + h + 2) + (L-1)*m*h*b*(b*h + h + 2), solved for li
        num_input = arr.size // b // h // m - (self._num_layers - 1) * (h + b * h + 2) - h - 2
        if num_input <= 0:
            raise MXNetError(f"FusedRNNCell: {arr.size} parameters are too few for the cell's "
                             "layers")
        for name, view in self._slice_weights(arr, num_input, h).items():
            args[name] = view.copy()
        return args

    def pack_weights(self, args: Args) -> Args:
        args = dict(args)
        b, m, h = self._bidirectional + 1, self._num_gates, self._num_hidden
        first = f"{self._prefix}l0_i2h{self._gate_names[0]}_weight"
        if first not in args:
            raise MXNetError(f"args has no parameter {first!r}")
        w0 = args[first]
        num_input = w0.shape[1]
        total = (num_input + h + 2) * h * m * b + \
            (self._num_layers - 1) * m * h * (h + b * h + 2) * b
        arr = ndarray.zeros((total,), ctx=w0.context, dtype=w0.dtype)
        for name, view in self._slice_weights(arr, num_input, h).items():
            view[:] = _pop(args, name)
        args[self._parameter.name] = arr
        return args

    def __call__(self, inputs: Symbol, states: list[Symbol]) -> tuple[Symbol, list[Symbol]]:
        raise NotImplementedError("FusedRNNCell cannot be stepped. Please use unroll")

    def unroll(self, length: int, inputs: Symbol | Sequence[Symbol],
               begin_state: list[Symbol] | None = None, layout: str = "NTC",
               merge_outputs: bool | None = None) -> tuple[Symbol | list[Symbol], list[Any]]:
        self.reset()
        data, axis = _normalize_sequence(length, inputs, layout, True)
        if axis == 1:
            warnings.warn("NTC layout detected. Consider using TNC for FusedRNNCell for "
                          "faster speed", stacklevel=2)
            data = symbol.swapaxes(data, dim1=0, dim2=1)
        elif axis != 0:
            raise MXNetError(f"FusedRNNCell.unroll: unsupported layout {layout!r}")
        if begin_state is None:
            begin_state = self.begin_state()
        if self._mode == "lstm":
            state_args = {"state": begin_state[0], "state_cell": begin_state[1]}
        else:
            state_args = {"state": begin_state[0]}
        rnn = symbol.RNN(data=data, parameters=self._parameter, state_size=self._num_hidden,
                         num_layers=self._num_layers, bidirectional=self._bidirectional,
                         p=self._dropout, state_outputs=self._get_next_state,
                         mode=self._mode, name=self._prefix + "rnn", **state_args)
        if not self._get_next_state:
            outputs, states = rnn, []
        else:
            n_states = 2 if self._mode == "lstm" else 1
            states = [rnn[k] for k in range(1, n_states + 1)]
            for s in states:
                s._set_attr(__layout__="LNC")
            outputs = rnn[0]
        if axis == 1:
            outputs = symbol.swapaxes(outputs, dim1=0, dim2=1)
        outputs, _ = _normalize_sequence(length, outputs, layout, merge_outputs)
        return outputs, states

    def unfuse(self) -> SequentialRNNCell:
        """The same network as a :class:`SequentialRNNCell` of step cells (bidirectional
        layers as :class:`BidirectionalCell`, dropout as :class:`DropoutCell`), whose weights
        have the names :meth:`unpack_weights` gives."""
        def make(cell_prefix: str) -> BaseRNNCell:
            if self._mode == "rnn_relu":
                return RNNCell(self._num_hidden, activation="relu", prefix=cell_prefix)
            if self._mode == "rnn_tanh":
                return RNNCell(self._num_hidden, activation="tanh", prefix=cell_prefix)
            if self._mode == "lstm":
                return LSTMCell(self._num_hidden, prefix=cell_prefix)
            return GRUCell(self._num_hidden, prefix=cell_prefix)

        stack = SequentialRNNCell()
        for i in range(self._num_layers):
            if self._bidirectional:
                stack.add(BidirectionalCell(make(f"{self._prefix}l{i}_"),
                                            make(f"{self._prefix}r{i}_"),
                                            output_prefix=f"{self._prefix}bi_l{i}_"))
            else:
                stack.add(make(f"{self._prefix}l{i}_"))
            if self._dropout > 0 and i != self._num_layers - 1:
                stack.add(DropoutCell(self._dropout, prefix=f"{self._prefix}_dropout{i}_"))
        return stack


class SequentialRNNCell(BaseRNNCell):
    """A stack of cells: each one's output is the next one's input.

    Parameters
    ----------
    params : RNNParams, optional
        Container to share weights; created if None. If given, the added cells must not
        have their own.
    """

    def __init__(self, params: RNNParams | None = None):
        super().__init__(prefix="", params=params)
        self._override_cell_params = params is not None
        self._cells: list[BaseRNNCell] = []

    def add(self, cell: BaseRNNCell) -> None:
        """Put ``cell`` on top of the stack."""
        if not isinstance(cell, BaseRNNCell):
            raise MXNetError(f"SequentialRNNCell.add: cell must be a BaseRNNCell, got "
                             f"{type(cell).__name__}")
        if self._override_cell_params:
            if not cell._own_params:
                raise MXNetError("SequentialRNNCell.add: either specify params for "
                                 "SequentialRNNCell or for the child cells, not both")
            cell.params._params.update(self.params._params)
        self._cells.append(cell)
        self.params._params.update(cell.params._params)

    @property
    def state_info(self) -> list[dict[str, Any]]:
        return _cells_state_info(self._cells)

    def begin_state(self, **kwargs: Any) -> list[Symbol]:  # type: ignore[override]
        self._check_unmodified()
        return _cells_begin_state(self._cells, **kwargs)

    def unpack_weights(self, args: Args) -> Args:
        return _cells_unpack_weights(self._cells, args)

    def pack_weights(self, args: Args) -> Args:
        return _cells_pack_weights(self._cells, args)

    def __call__(self, inputs: Symbol, states: list[Symbol]) -> tuple[Symbol, list[Symbol]]:
        self._counter += 1
        next_states: list[Symbol] = []
        p = 0
        for cell in self._cells:
            if isinstance(cell, BidirectionalCell):
                raise MXNetError("SequentialRNNCell with a BidirectionalCell cannot be "
                                 "stepped. Please use unroll")
            n = len(cell.state_info)
            inputs, state = cell(inputs, states[p:p + n])
            p += n
            next_states.extend(state)
        return inputs, next_states

    def unroll(self, length: int, inputs: Symbol | Sequence[Symbol],
               begin_state: list[Symbol] | None = None, layout: str = "NTC",
               merge_outputs: bool | None = None) -> tuple[Symbol | list[Symbol], list[Any]]:
        self.reset()
        if begin_state is None:
            begin_state = self.begin_state()
        p = 0
        next_states: list[Any] = []
        last = len(self._cells) - 1
        for i, cell in enumerate(self._cells):
            n = len(cell.state_info)
            # inner layers hand over whatever form is cheapest; the top one honours the caller
            inputs, states = cell.unroll(length, inputs=inputs, begin_state=begin_state[p:p + n],
                                         layout=layout,
                                         merge_outputs=merge_outputs if i == last else None)
            p += n
            next_states.extend(states)
        return inputs, next_states


class DropoutCell(BaseRNNCell):
    """Dropout on the input (no state, no weights).

    Parameters
    ----------
    dropout : float
        Fraction of the elements to drop in training.
    prefix : str, default 'dropout_'
        Prefix of the names.
    params : RNNParams, optional
        Container to share weights; created if None.
    """

    def __init__(self, dropout: float, prefix: str = "dropout_",
                 params: RNNParams | None = None):
        super().__init__(prefix, params)
        if isinstance(dropout, bool) or not isinstance(dropout, numeric_types):
            raise MXNetError(f"DropoutCell: dropout must be a number, got {dropout!r}")
        self.dropout = dropout

    @property
    def state_info(self) -> list[dict[str, Any]]:
        return []

    def __call__(self, inputs: Symbol, states: list[Symbol]) -> tuple[Symbol, list[Symbol]]:
        if self.dropout > 0:
            inputs = symbol.Dropout(data=inputs, p=self.dropout)
        return inputs, states

    def unroll(self, length: int, inputs: Symbol | Sequence[Symbol],
               begin_state: list[Symbol] | None = None, layout: str = "NTC",
               merge_outputs: bool | None = None) -> tuple[Symbol | list[Symbol], list[Any]]:
        self.reset()
        inputs, _ = _normalize_sequence(length, inputs, layout, merge_outputs)
        if isinstance(inputs, Symbol):  # one Dropout over the whole sequence
            return self(inputs, [])
        return super().unroll(length, inputs, begin_state=begin_state, layout=layout,
                              merge_outputs=merge_outputs)


class ModifierCell(BaseRNNCell):
    """Base class of the cells that wrap another cell and change what it computes (zoneout,
    residual connection). Once wrapped, the base cell must be used through the wrapper only.

    Parameters
    ----------
    base_cell : BaseRNNCell
        The cell to modify.
    """

    def __init__(self, base_cell: BaseRNNCell):
        if not isinstance(base_cell, BaseRNNCell):
            raise MXNetError(f"{type(self).__name__}: base_cell must be a BaseRNNCell, got "
                             f"{type(base_cell).__name__}")
        super().__init__()
        base_cell._modified = True
        self.base_cell = base_cell

    @property
    def params(self) -> RNNParams:
        self._own_params = False
        return self.base_cell.params

    @property
    def state_info(self) -> list[dict[str, Any]]:
        return self.base_cell.state_info

    def begin_state(self, init_sym: Callable[..., Symbol] = symbol.zeros,
                    **kwargs: Any) -> list[Symbol]:  # type: ignore[override]
        self._check_unmodified()
        # a stack passes func=...; MXNet then fails with a duplicate argument, mxlite takes it
        init_sym = kwargs.pop("func", init_sym)
        self.base_cell._modified = False
        try:
            return self.base_cell.begin_state(init_sym, **kwargs)
        finally:
            self.base_cell._modified = True

    def unpack_weights(self, args: Args) -> Args:
        return self.base_cell.unpack_weights(args)

    def pack_weights(self, args: Args) -> Args:
        return self.base_cell.pack_weights(args)

    def __call__(self, inputs: Symbol, states: list[Symbol]) -> tuple[Symbol, list[Symbol]]:
        raise NotImplementedError()


class ZoneoutCell(ModifierCell):
    """Zoneout (Krueger et al. 2016) on a cell: in training, each output / state element keeps
    its previous value with the given probability instead of taking the new one. In inference
    the base cell's values pass unchanged.

    Parameters
    ----------
    base_cell : BaseRNNCell
        The cell whose outputs and states get zoneout (not fused, not bidirectional).
    zoneout_outputs : float, default 0.
        Probability of keeping the previous output.
    zoneout_states : float, default 0.
        Probability of keeping the previous state.
    """

    def __init__(self, base_cell: BaseRNNCell, zoneout_outputs: float = 0.,
                 zoneout_states: float = 0.):
        if isinstance(base_cell, FusedRNNCell):
            raise MXNetError("ZoneoutCell: base_cell is a FusedRNNCell, which doesn't support "
                             "zoneout. Please unfuse first.")
        if isinstance(base_cell, BidirectionalCell) or (
                isinstance(base_cell, SequentialRNNCell)
                and any(isinstance(c, BidirectionalCell) for c in base_cell._cells)):
            raise MXNetError("ZoneoutCell: base_cell is bidirectional, which cannot be "
                             "stepped; add ZoneoutCell to the cells underneath instead.")
        for name, p in (("zoneout_outputs", zoneout_outputs),
                        ("zoneout_states", zoneout_states)):
            if isinstance(p, bool) or not isinstance(p, numeric_types) or not 0 <= p < 1:
                raise MXNetError(f"ZoneoutCell: {name} must be a number in [0, 1), got {p!r}")
        super().__init__(base_cell)
        self.zoneout_outputs = zoneout_outputs
        self.zoneout_states = zoneout_states
        self.prev_output: Symbol | None = None

    def reset(self) -> None:
        super().reset()
        self.prev_output = None

    def __call__(self, inputs: Symbol, states: list[Symbol]) -> tuple[Symbol, list[Symbol]]:
        p_out, p_state = self.zoneout_outputs, self.zoneout_states
        next_output, next_states = self.base_cell(inputs, states)

        def mask(p: float, like: Symbol) -> Symbol:
            # Dropout of ones: 0 where the old value is kept, non-zero where the new one is
            return symbol.Dropout(symbol.ones_like(like), p=p)

        prev_output = self.prev_output if self.prev_output is not None \
            else symbol.zeros((0, 0))
        output = symbol.where(mask(p_out, next_output), next_output, prev_output) \
            if p_out != 0. else next_output
        if p_state != 0.:
            next_states = [symbol.where(mask(p_state, new), new, old)
                           for new, old in zip(next_states, states)]
        self.prev_output = output
        return output, next_states


class ResidualCell(ModifierCell):
    """Residual connection around a cell (Wu et al. 2016): output = base output + input.

    Parameters
    ----------
    base_cell : BaseRNNCell
        The cell to wrap; its output size must equal its input size.
    """

    def __init__(self, base_cell: BaseRNNCell):
        super().__init__(base_cell)

    def __call__(self, inputs: Symbol, states: list[Symbol]) -> tuple[Symbol, list[Symbol]]:
        output, states = self.base_cell(inputs, states)
        output = symbol.elemwise_add(output, inputs, name=f"{output.name}_plus_residual")
        return output, states

    def unroll(self, length: int, inputs: Symbol | Sequence[Symbol],
               begin_state: list[Symbol] | None = None, layout: str = "NTC",
               merge_outputs: bool | None = None) -> tuple[Symbol | list[Symbol], list[Any]]:
        self.reset()
        self.base_cell._modified = False
        try:
            outputs, states = self.base_cell.unroll(length, inputs=inputs,
                                                    begin_state=begin_state, layout=layout,
                                                    merge_outputs=merge_outputs)
        finally:
            self.base_cell._modified = True
        if merge_outputs is None:
            merge_outputs = isinstance(outputs, Symbol)
        inputs, _ = _normalize_sequence(length, inputs, layout, merge_outputs)
        if merge_outputs:
            outputs = symbol.elemwise_add(outputs, inputs,
                                          name=f"{outputs.name}_plus_residual")
        else:
            outputs = [symbol.elemwise_add(o, i, name=f"{o.name}_plus_residual")
                       for o, i in zip(outputs, inputs)]
        return outputs, states


class BidirectionalCell(BaseRNNCell):
    """Two cells over the sequence, one forward and one backward, their outputs concatenated
    along the feature axis. It can only be unrolled; its states are ``[l_states, r_states]``.

    Parameters
    ----------
    l_cell : BaseRNNCell
        The forward cell.
    r_cell : BaseRNNCell
        The backward cell.
    params : RNNParams, optional
        Container to share weights; created if None. If given, the two cells must not have
        their own.
    output_prefix : str, default 'bi_'
        Prefix of the output names.
    """

    def __init__(self, l_cell: BaseRNNCell, r_cell: BaseRNNCell,
                 params: RNNParams | None = None, output_prefix: str = "bi_"):
        for name, cell in (("l_cell", l_cell), ("r_cell", r_cell)):
            if not isinstance(cell, BaseRNNCell):
                raise MXNetError(f"BidirectionalCell: {name} must be a BaseRNNCell, got "
                                 f"{type(cell).__name__}")
        super().__init__("", params=params)
        self._output_prefix = _check_prefix(output_prefix, "BidirectionalCell")
        self._override_cell_params = params is not None
        if self._override_cell_params:
            if not (l_cell._own_params and r_cell._own_params):
                raise MXNetError("BidirectionalCell: either specify params for "
                                 "BidirectionalCell or for the child cells, not both")
            l_cell.params._params.update(self.params._params)
            r_cell.params._params.update(self.params._params)
        self.params._params.update(l_cell.params._params)
        self.params._params.update(r_cell.params._params)
        self._cells = [l_cell, r_cell]

    def unpack_weights(self, args: Args) -> Args:
        return _cells_unpack_weights(self._cells, args)

    def pack_weights(self, args: Args) -> Args:
        return _cells_pack_weights(self._cells, args)

    def __call__(self, inputs: Symbol, states: list[Symbol]) -> tuple[Symbol, list[Symbol]]:
        raise NotImplementedError("Bidirectional cannot be stepped. Please use unroll")

    @property
    def state_info(self) -> list[dict[str, Any]]:
        return _cells_state_info(self._cells)

    def begin_state(self, **kwargs: Any) -> list[Symbol]:  # type: ignore[override]
        self._check_unmodified()
        return _cells_begin_state(self._cells, **kwargs)

    def unroll(self, length: int, inputs: Symbol | Sequence[Symbol],
               begin_state: list[Symbol] | None = None, layout: str = "NTC",
               merge_outputs: bool | None = None) -> tuple[Symbol | list[Symbol], list[Any]]:
        self.reset()
        steps, axis = _normalize_sequence(length, inputs, layout, False)
        if begin_state is None:
            begin_state = self.begin_state()
        l_cell, r_cell = self._cells
        n_l = len(l_cell.state_info)
        l_outputs, l_states = l_cell.unroll(length, inputs=steps, begin_state=begin_state[:n_l],
                                            layout=layout, merge_outputs=merge_outputs)
        r_outputs, r_states = r_cell.unroll(length, inputs=list(reversed(steps)),
                                            begin_state=begin_state[n_l:], layout=layout,
                                            merge_outputs=merge_outputs)
        if merge_outputs is None:
            merge_outputs = isinstance(l_outputs, Symbol) and isinstance(r_outputs, Symbol)
            if not merge_outputs:
                if isinstance(l_outputs, Symbol):
                    l_outputs = list(symbol.SliceChannel(l_outputs, axis=axis,
                                                         num_outputs=length, squeeze_axis=1))
                if isinstance(r_outputs, Symbol):
                    r_outputs = list(symbol.SliceChannel(r_outputs, axis=axis,
                                                         num_outputs=length, squeeze_axis=1))
        if merge_outputs:
            merged = symbol.Concat(l_outputs, symbol.reverse(r_outputs, axis=axis), dim=2,
                                   name=f"{self._output_prefix}out")
            return merged, [l_states, r_states]
        r_outputs = list(reversed(r_outputs))
        outputs = [symbol.Concat(l_o, r_o, dim=1, name=f"{self._output_prefix}t{t}")
                   for t, (l_o, r_o) in enumerate(zip(l_outputs, r_outputs))]
        return outputs, [l_states, r_states]


_LEAKY = functools.partial(symbol.LeakyReLU, act_type="leaky", slope=0.2)


class BaseConvRNNCell(BaseRNNCell):
    """Abstract base class of the convolutional RNN cells (i2h and h2h are convolutions).

    The state shape is what the i2h convolution makes of one step's ``input_shape`` (batch
    axis 0, left to be inferred). h2h convolutions have stride 1 and "same" padding, so the
    h2h kernel's sizes must be odd.
    """

    _default_prefix = ""  # each cell's own, as MXNet's constructors default it

    def __init__(self, input_shape: Sequence[int], num_hidden: int,
                 h2h_kernel: Sequence[int] = (3, 3), h2h_dilate: Sequence[int] = (1, 1),
                 i2h_kernel: Sequence[int] = (3, 3), i2h_stride: Sequence[int] = (1, 1),
                 i2h_pad: Sequence[int] = (1, 1), i2h_dilate: Sequence[int] = (1, 1),
                 i2h_weight_initializer: Any = None, h2h_weight_initializer: Any = None,
                 i2h_bias_initializer: Any = "zeros", h2h_bias_initializer: Any = "zeros",
                 activation: Any = None, prefix: str | None = None,
                 params: RNNParams | None = None, conv_layout: str = "NCHW"):
        if activation is None:
            activation = _LEAKY
        if prefix is None:
            prefix = self._default_prefix
        super().__init__(prefix=prefix, params=params)
        who = type(self).__name__
        if len(h2h_kernel) < 2 or h2h_kernel[0] % 2 != 1 or h2h_kernel[1] % 2 != 1:
            raise MXNetError(f"{who}: h2h_kernel must have odd sizes, got {tuple(h2h_kernel)}")
        self._h2h_kernel = h2h_kernel
        self._h2h_pad = (h2h_dilate[0] * (h2h_kernel[0] - 1) // 2,
                         h2h_dilate[1] * (h2h_kernel[1] - 1) // 2)
        self._h2h_dilate = h2h_dilate
        self._i2h_kernel = i2h_kernel
        self._i2h_stride = i2h_stride
        self._i2h_pad = i2h_pad
        self._i2h_dilate = i2h_dilate
        self._num_hidden = _check_num_hidden(num_hidden, who)
        self._input_shape = input_shape
        self._conv_layout = conv_layout
        self._activation = activation

        data = symbol.Variable("data")
        probe = symbol.Convolution(data=data, num_filter=self._num_hidden,
                                   kernel=self._i2h_kernel, stride=self._i2h_stride,
                                   pad=self._i2h_pad, dilate=self._i2h_dilate,
                                   layout=conv_layout)
        out_shape = probe.infer_shape(data=tuple(input_shape))[1][0]
        self._state_shape = (0,) + tuple(out_shape[1:])

        self._iW = self.params.get("i2h_weight", init=i2h_weight_initializer)
        self._hW = self.params.get("h2h_weight", init=h2h_weight_initializer)
        self._iB = self.params.get("i2h_bias", init=i2h_bias_initializer)
        self._hB = self.params.get("h2h_bias", init=h2h_bias_initializer)

    @property
    def _num_gates(self) -> int:
        return len(self._gate_names)

    @property
    def state_info(self) -> list[dict[str, Any]]:
        return [{"shape": self._state_shape, "__layout__": self._conv_layout},
                {"shape": self._state_shape, "__layout__": self._conv_layout}]

    def _conv_forward(self, inputs: Symbol, states: list[Symbol],
                      name: str) -> tuple[Symbol, Symbol]:
        i2h = symbol.Convolution(name=f"{name}i2h", data=inputs,
                                 num_filter=self._num_hidden * self._num_gates,
                                 kernel=self._i2h_kernel, stride=self._i2h_stride,
                                 pad=self._i2h_pad, dilate=self._i2h_dilate,
                                 weight=self._iW, bias=self._iB, layout=self._conv_layout)
        h2h = symbol.Convolution(name=f"{name}h2h", data=states[0],
                                 num_filter=self._num_hidden * self._num_gates,
                                 kernel=self._h2h_kernel, dilate=self._h2h_dilate,
                                 pad=self._h2h_pad, stride=(1, 1),
                                 weight=self._hW, bias=self._hB, layout=self._conv_layout)
        return i2h, h2h

    def __call__(self, inputs: Symbol, states: list[Symbol]) -> tuple[Symbol, list[Symbol]]:
        raise NotImplementedError("BaseConvRNNCell is abstract class for convolutional RNN")


_CONV_DOC = """
    Parameters
    ----------
    input_shape : tuple of int
        Shape of one time step's input.
    num_hidden : int
        Number of output channels.
    h2h_kernel, h2h_dilate : tuple of int, default (3, 3), (1, 1)
        Kernel and dilation of the state-to-state convolution (odd kernel sizes).
    i2h_kernel, i2h_stride, i2h_pad, i2h_dilate : tuple of int
        Kernel (3, 3), stride (1, 1), padding (1, 1) and dilation (1, 1) of the
        input-to-state convolution.
    i2h_weight_initializer, h2h_weight_initializer : str or Initializer, optional
        Initializers of the two convolution weights.
    i2h_bias_initializer, h2h_bias_initializer : str or Initializer, default 'zeros'
        Initializers of the two biases.
    activation : str or callable, default LeakyReLU with slope 0.2
        Activation (an ``act_type`` name or a function of a symbol).
    prefix : str
        Prefix of the layer (and, if ``params`` is None, weight) names.
    params : RNNParams, optional
        Container to share weights; created if None.
    conv_layout : str, default 'NCHW'
        Layout of the convolutions.
    """

class ConvRNNCell(BaseConvRNNCell):
    __doc__ = "Convolutional RNN cell.\n" + _CONV_DOC
    _default_prefix = "ConvRNN_"

    @property
    def _gate_names(self) -> Sequence[str]:
        return ("",)

    @property
    def state_info(self) -> list[dict[str, Any]]:
        return [{"shape": self._state_shape, "__layout__": self._conv_layout}]

    def __call__(self, inputs: Symbol, states: list[Symbol]) -> tuple[Symbol, list[Symbol]]:
        self._counter += 1
        name = f"{self._prefix}t{self._counter}_"
        i2h, h2h = self._conv_forward(inputs, states, name)
        output = self._get_activation(i2h + h2h, self._activation, name=f"{name}out")
        return output, [output]


class ConvLSTMCell(BaseConvRNNCell):
    __doc__ = "Convolutional LSTM cell (Xingjian et al. NIPS 2015).\n" + _CONV_DOC
    _default_prefix = "ConvLSTM_"

    @property
    def _gate_names(self) -> Sequence[str]:
        return ["_i", "_f", "_c", "_o"]

    def __call__(self, inputs: Symbol, states: list[Symbol]) -> tuple[Symbol, list[Symbol]]:
        self._counter += 1
        name = f"{self._prefix}t{self._counter}_"
        i2h, h2h = self._conv_forward(inputs, states, name)
        gates = symbol.SliceChannel(i2h + h2h, num_outputs=4,
                                    axis=self._conv_layout.find("C"), name=f"{name}slice")
        in_gate = symbol.Activation(gates[0], act_type="sigmoid", name=f"{name}i")
        forget_gate = symbol.Activation(gates[1], act_type="sigmoid", name=f"{name}f")
        in_transform = self._get_activation(gates[2], self._activation, name=f"{name}c")
        out_gate = symbol.Activation(gates[3], act_type="sigmoid", name=f"{name}o")
        next_c = symbol._internal._plus(forget_gate * states[1], in_gate * in_transform,
                                        name=f"{name}state")
        next_h = symbol._internal._mul(out_gate, self._get_activation(next_c, self._activation),
                                       name=f"{name}out")
        return next_h, [next_h, next_c]


class ConvGRUCell(BaseConvRNNCell):
    __doc__ = "Convolutional GRU cell.\n" + _CONV_DOC
    _default_prefix = "ConvGRU_"

    @property
    def _gate_names(self) -> Sequence[str]:
        return ["_r", "_z", "_o"]

    @property
    def state_info(self) -> list[dict[str, Any]]:
        return [{"shape": self._state_shape, "__layout__": self._conv_layout}]

    def __call__(self, inputs: Symbol, states: list[Symbol]) -> tuple[Symbol, list[Symbol]]:
        self._counter += 1
        name = f"{self._prefix}t{self._counter}_"
        i2h, h2h = self._conv_forward(inputs, states, name)
        i2h_r, i2h_z, i2h = symbol.SliceChannel(i2h, num_outputs=3, name=f"{name}_i2h_slice")
        h2h_r, h2h_z, h2h = symbol.SliceChannel(h2h, num_outputs=3, name=f"{name}_h2h_slice")
        reset_gate = symbol.Activation(i2h_r + h2h_r, act_type="sigmoid", name=f"{name}_r_act")
        update_gate = symbol.Activation(i2h_z + h2h_z, act_type="sigmoid",
                                        name=f"{name}_z_act")
        candidate = self._get_activation(i2h + reset_gate * h2h, self._activation,
                                         name=f"{name}_h_act")
        next_h = symbol._internal._plus((1. - update_gate) * candidate,
                                        update_gate * states[0], name=f"{name}out")
        return next_h, [next_h]


@initializer.register
class FusedRNN(initializer.Initializer):
    """Initializer of a :class:`FusedRNNCell`'s flat ``parameters`` vector: it is unpacked
    into the per-gate weights and biases, each initialized on its own, and packed back.

    Parameters
    ----------
    init : Initializer or str or None
        Initializer of the unpacked arrays (a ``dumps()`` string works too); the global
        initializer if None.
    num_hidden, num_layers, mode, bidirectional, forget_bias
        As given to the :class:`FusedRNNCell`. With mode 'lstm' every forget-gate bias
        (i2h and h2h) is set to ``forget_bias``.
    """

    def __init__(self, init: Any, num_hidden: int, num_layers: int, mode: str,
                 bidirectional: bool = False, forget_bias: float = 1.0):
        if isinstance(init, str):
            init = initializer.create(init)
        if init is not None and not isinstance(init, initializer.Initializer):
            raise MXNetError(f"FusedRNN: init must be an Initializer, a string or None, got "
                             f"{type(init).__name__}")
        super().__init__(init=init.dumps() if init is not None else None,
                         num_hidden=num_hidden, num_layers=num_layers, mode=mode,
                         bidirectional=bidirectional, forget_bias=forget_bias)
        self._init = init
        self._num_hidden = num_hidden
        self._num_layers = num_layers
        self._mode = mode
        self._bidirectional = bidirectional
        self._forget_bias = forget_bias

    def _init_weight(self, desc: Any, arr: Any) -> None:
        cell = FusedRNNCell(self._num_hidden, self._num_layers, self._mode,
                            self._bidirectional, forget_bias=self._forget_bias, prefix="")
        flat = arr if isinstance(arr, NDArray) else ndarray.array(arr)
        args = cell.unpack_weights({"parameters": flat})
        global_init = getattr(desc, "global_init", None)
        for name, part in args.items():
            part_desc = initializer.InitDesc(name, global_init=global_init)
            if self._mode == "lstm" and name.endswith("_f_bias"):
                part[:] = self._forget_bias
            elif self._init is not None:
                self._init(part_desc, part)
            elif global_init is not None:
                global_init(part_desc, part)
            else:
                raise MXNetError(f"FusedRNN: no initializer for {name} (init is None and "
                                 "there is no global initializer)")
        packed = cell.pack_weights(args)["parameters"]
        if isinstance(arr, NDArray):
            arr[:] = packed
        else:
            arr[...] = packed.asnumpy()
