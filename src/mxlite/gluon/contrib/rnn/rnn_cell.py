"""``mx.gluon.contrib.rnn``'s recurrent cells (``VariationalDropoutCell``, ``LSTMPCell``) and
``dynamic_unroll``, as MXNet 1.9.1 defines them: compositions of registry operators through
``F``, like the cells of ``mx.gluon.rnn``."""

from __future__ import annotations

from typing import Any

from ....base import MXNetError
from ...rnn.rnn_cell import (
    BidirectionalCell,
    HybridRecurrentCell,
    ModifierCell,
    RecurrentCell,
    SequentialRNNCell,
    _as_list,
    _format_sequence,
    _get_begin_state,
    _mask_sequence_variable_length,
    tensor_types,
)

__all__ = ["VariationalDropoutCell", "LSTMPCell"]  # dynamic_unroll: via the module, as MXNet


class VariationalDropoutCell(ModifierCell):
    """Variational dropout (https://arxiv.org/pdf/1512.05287.pdf) on ``base_cell``: one
    dropout mask per sequence, the same at every step, for the inputs, the first state and
    the outputs (three separate masks).

    The masks are drawn at the first step and kept until :meth:`reset` (which
    :meth:`unroll` calls), so a cell stepped by hand needs ``reset()`` between sequences.

    Parameters
    ----------
    base_cell : RecurrentCell
        The cell to apply dropout to.
    drop_inputs, drop_states, drop_outputs : float, default 0.
        Dropout rates of the inputs, of the first state (``h``), and of the outputs; 0 applies
        none.
    """

    def __init__(self, base_cell: RecurrentCell, drop_inputs: float = 0.,
                 drop_states: float = 0., drop_outputs: float = 0.):
        if drop_states and isinstance(base_cell, BidirectionalCell):
            raise MXNetError("BidirectionalCell doesn't support variational state dropout. "
                             "Please add VariationalDropoutCell to the cells underneath "
                             "instead.")
        if (drop_states and isinstance(base_cell, SequentialRNNCell)
                and getattr(base_cell, "_bidirectional", False)):
            raise MXNetError("Bidirectional SequentialRNNCell doesn't support variational state "
                             "dropout. Please add VariationalDropoutCell to the cells "
                             "underneath instead.")
        super().__init__(base_cell)
        self.drop_inputs = drop_inputs
        self.drop_states = drop_states
        self.drop_outputs = drop_outputs
        self.drop_inputs_mask: Any = None
        self.drop_states_mask: Any = None
        self.drop_outputs_mask: Any = None

    def _alias(self) -> str:
        return "vardrop"

    def reset(self) -> None:
        super().reset()
        self.drop_inputs_mask = None
        self.drop_states_mask = None
        self.drop_outputs_mask = None

    def _initialize_input_masks(self, F: Any, inputs: Any, states: Any) -> None:  # noqa: N803
        if self.drop_states and self.drop_states_mask is None:
            self.drop_states_mask = F.Dropout(F.ones_like(states[0]), p=self.drop_states)
        if self.drop_inputs and self.drop_inputs_mask is None:
            self.drop_inputs_mask = F.Dropout(F.ones_like(inputs), p=self.drop_inputs)

    def _initialize_output_mask(self, F: Any, output: Any) -> None:  # noqa: N803
        if self.drop_outputs and self.drop_outputs_mask is None:
            self.drop_outputs_mask = F.Dropout(F.ones_like(output), p=self.drop_outputs)

    def hybrid_forward(self, F: Any, inputs: Any, states: Any) -> Any:  # noqa: N803
        self._initialize_input_masks(F, inputs, states)
        if self.drop_states:
            states = list(states)
            # Only h, always the first state, is dropped.
            states[0] = states[0] * self.drop_states_mask
        if self.drop_inputs:
            inputs = inputs * self.drop_inputs_mask
        next_output, next_states = self.base_cell(inputs, states)
        self._initialize_output_mask(F, next_output)
        if self.drop_outputs:
            next_output = next_output * self.drop_outputs_mask
        return next_output, next_states

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(p_out = {self.drop_outputs}, p_state = "
                f"{self.drop_states})")

    def unroll(self, length: int, inputs: Any, begin_state: Any = None, layout: str = "NTC",
               merge_outputs: bool | None = None, valid_length: Any = None) -> tuple[Any, list]:
        """Run the cell over ``length`` steps (see ``RecurrentCell.unroll``).

        Without state dropout, the input and output masks are applied to the whole sequence
        at once (one mask broadcast along the time axis) around the base cell's own unroll.
        """
        if self.drop_states:
            return super().unroll(length, inputs, begin_state, layout, merge_outputs,
                                  valid_length=valid_length)
        self.reset()
        inputs, axis, F, batch_size = _format_sequence(length, inputs, layout, True)  # noqa: N806
        states = _get_begin_state(self, F, begin_state, inputs, batch_size)
        if self.drop_inputs:
            inputs = F.Dropout(inputs, p=self.drop_inputs, axes=(axis,))
        outputs, states = self.base_cell.unroll(length, inputs, states, layout,
                                                merge_outputs=True, valid_length=valid_length)
        if self.drop_outputs:
            outputs = F.Dropout(outputs, p=self.drop_outputs, axes=(axis,))
        if merge_outputs is None:
            merge_outputs = isinstance(outputs, tensor_types)
        outputs, _, _, _ = _format_sequence(length, outputs, layout, merge_outputs)
        if valid_length is not None:
            outputs = _mask_sequence_variable_length(F, outputs, length, valid_length, axis,
                                                     merge_outputs)
        return outputs, states


class LSTMPCell(HybridRecurrentCell):
    r"""LSTM with a projected recurrent state (LSTMP, https://arxiv.org/abs/1402.1128):
    the gates of :class:`~mxlite.gluon.rnn.LSTMCell` computed from :math:`r_{t-1}`, and
    :math:`r_t = W_{hr} h_t`.

    Parameters
    ----------
    hidden_size : int
        Number of units of the cell state.
    projection_size : int
        Number of units of the output (the projected state).
    i2h_weight_initializer, h2h_weight_initializer, h2r_weight_initializer : str or
        Initializer, optional
    i2h_bias_initializer, h2h_bias_initializer : str or Initializer, default 'zeros'
    input_size : int, default 0
        Number of input features; 0 infers it from the first input.
    prefix : str, default ``'lstmp_'``
    params : ParameterDict, optional

    Inputs ``data`` ``(N, C)`` and ``states`` ``[(N, projection_size), (N, hidden_size)]``;
    outputs ``r_t`` and ``[r_t, c_t]``.
    """

    def __init__(self, hidden_size: int, projection_size: int,
                 i2h_weight_initializer: Any = None, h2h_weight_initializer: Any = None,
                 h2r_weight_initializer: Any = None, i2h_bias_initializer: Any = "zeros",
                 h2h_bias_initializer: Any = "zeros", input_size: int = 0,
                 prefix: str | None = None, params: Any = None):
        super().__init__(prefix=prefix, params=params)
        self._hidden_size = hidden_size
        self._input_size = input_size
        self._projection_size = projection_size
        self.i2h_weight = self.params.get("i2h_weight", shape=(4 * hidden_size, input_size),
                                          init=i2h_weight_initializer, allow_deferred_init=True)
        self.h2h_weight = self.params.get("h2h_weight",
                                          shape=(4 * hidden_size, projection_size),
                                          init=h2h_weight_initializer, allow_deferred_init=True)
        self.h2r_weight = self.params.get("h2r_weight", shape=(projection_size, hidden_size),
                                          init=h2r_weight_initializer, allow_deferred_init=True)
        self.i2h_bias = self.params.get("i2h_bias", shape=(4 * hidden_size,),
                                        init=i2h_bias_initializer, allow_deferred_init=True)
        self.h2h_bias = self.params.get("h2h_bias", shape=(4 * hidden_size,),
                                        init=h2h_bias_initializer, allow_deferred_init=True)

    def state_info(self, batch_size: int = 0) -> list:
        return [{"shape": (batch_size, self._projection_size), "__layout__": "NC"},
                {"shape": (batch_size, self._hidden_size), "__layout__": "NC"}]

    def _alias(self) -> str:
        return "lstmp"

    def __repr__(self) -> str:
        shape = self.i2h_weight.shape
        proj = self.h2r_weight.shape
        return (f"{self.__class__.__name__}({shape[1] if shape[1] else None} -> {shape[0]} -> "
                f"{proj[0]})")

    def hybrid_forward(self, F: Any, inputs: Any, states: Any, i2h_weight: Any,  # noqa: N803
                       h2h_weight: Any, h2r_weight: Any, i2h_bias: Any, h2h_bias: Any) -> Any:
        prefix = f"t{self._counter}_"
        n = self._hidden_size * 4
        i2h = F.FullyConnected(data=inputs, weight=i2h_weight, bias=i2h_bias, num_hidden=n,
                               name=prefix + "i2h")
        h2h = F.FullyConnected(data=states[0], weight=h2h_weight, bias=h2h_bias, num_hidden=n,
                               name=prefix + "h2h")
        gates = i2h + h2h
        slice_gates = F.SliceChannel(gates, num_outputs=4, name=prefix + "slice")
        in_gate = F.Activation(slice_gates[0], act_type="sigmoid", name=prefix + "i")
        forget_gate = F.Activation(slice_gates[1], act_type="sigmoid", name=prefix + "f")
        in_transform = F.Activation(slice_gates[2], act_type="tanh", name=prefix + "c")
        out_gate = F.Activation(slice_gates[3], act_type="sigmoid", name=prefix + "o")
        next_c = F.elemwise_add(forget_gate * states[1], in_gate * in_transform,
                                name=prefix + "state")
        hidden = F.elemwise_mul(out_gate, F.Activation(next_c, act_type="tanh"),
                                name=prefix + "hidden")
        next_r = F.FullyConnected(data=hidden, num_hidden=self._projection_size,
                                  weight=h2r_weight, no_bias=True, name=prefix + "out")
        return next_r, [next_r, next_c]


def dynamic_unroll(cell: RecurrentCell, inputs: Any, begin_state: Any, drop_inputs: float = 0,
                   drop_outputs: float = 0, layout: str = "TNC",
                   valid_length: Any = None) -> tuple[Any, list]:
    """Run ``cell`` over the time axis of ``inputs`` with ``F.contrib.foreach`` (one graph
    node for the loop when traced, rather than one copy of the cell per step).

    Parameters
    ----------
    cell : RecurrentCell
    inputs : NDArray or Symbol
        ``(N, T, ...)`` for layout 'NTC', ``(T, N, ...)`` for 'TNC' (the faster one).
    begin_state : list of NDArray or Symbol
    drop_inputs, drop_outputs : float, default 0
        Dropout rates of the inputs and outputs (one mask along the time axis).
    layout : str, default 'TNC'
    valid_length : NDArray or Symbol, optional
        ``(N,)``: each sequence's length; its later steps keep the states of its last step
        and output zeros.

    Returns
    -------
    outputs : NDArray or Symbol
    states : list of NDArray or Symbol
    """
    # Merged inputs, so the length is not needed.
    inputs, axis, F, _ = _format_sequence(0, inputs, layout, True)  # noqa: N806
    axes = list(range(len(layout)))
    if axis != 0:
        axes[0], axes[axis] = axes[axis], axes[0]
        inputs = F.transpose(inputs, axes=axes)
    states = begin_state
    if drop_inputs:
        inputs = F.Dropout(inputs, p=drop_inputs, axes=(axis,))
    if valid_length is None:
        def loop_body(inputs: Any, states: Any) -> Any:
            return cell(inputs, states)
    else:
        states = list(_as_list(states))
        states.append(F.zeros(1))  # the step number, carried as one more state

        def loop_body(inputs: Any, states: Any) -> Any:
            cell_states = states[:-1]
            iter_no = states[-1]
            out, new_states = cell(inputs, cell_states)
            for i, state in enumerate(cell_states):
                new_states[i] = F.where(F.broadcast_greater(valid_length, iter_no),
                                        new_states[i], state)
            new_states.append(iter_no + 1)
            return out, new_states
    outputs, states = F.contrib.foreach(loop_body, inputs, states)
    if drop_outputs:
        outputs = F.Dropout(outputs, p=drop_outputs, axes=(axis,))
    if axis != 0:
        outputs = F.transpose(outputs, axes)
    if valid_length is None:
        return outputs, states
    outputs = F.SequenceMask(outputs, sequence_length=valid_length, use_sequence_length=True,
                             axis=axis)
    return outputs, states[:-1]  # the last state is the step number
