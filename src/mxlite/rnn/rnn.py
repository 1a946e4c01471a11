"""Checkpointing of models built from ``mx.rnn`` cells.

A cell's weights live in the model as the cell needs them (a fused vector, stacked gates);
checkpoints hold them unpacked, one array per gate, so a checkpoint written by a
``FusedRNNCell`` loads into its unfused stack and the other way round.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

from ..base import MXNetError
from ..model import load_checkpoint, save_checkpoint
from .rnn_cell import BaseRNNCell

__all__ = ["rnn_unroll", "save_rnn_checkpoint", "load_rnn_checkpoint", "do_rnn_checkpoint"]


def rnn_unroll(cell: BaseRNNCell, length: int, inputs: Any = None, begin_state: Any = None,
               input_prefix: str = "", layout: str = "NTC") -> tuple[Any, list[Any]]:
    """Deprecated: call ``cell.unroll`` instead (``input_prefix`` is ignored)."""
    warnings.warn("rnn_unroll is deprecated. Please call cell.unroll directly.", stacklevel=2)
    return cell.unroll(length=length, inputs=inputs, begin_state=begin_state, layout=layout)


def _as_cells(cells: BaseRNNCell | Sequence[BaseRNNCell]) -> list[BaseRNNCell]:
    if isinstance(cells, BaseRNNCell):
        return [cells]
    if isinstance(cells, (list, tuple)) and all(isinstance(c, BaseRNNCell) for c in cells):
        return list(cells)
    raise MXNetError(f"cells must be an RNN cell or a list of RNN cells, got "
                     f"{type(cells).__name__}")


def save_rnn_checkpoint(cells: BaseRNNCell | Sequence[BaseRNNCell], prefix: str, epoch: int,
                        symbol: Any, arg_params: dict, aux_params: dict) -> None:
    """Save a checkpoint of a model built with RNN cells, their weights unpacked first.

    Parameters
    ----------
    cells : BaseRNNCell or list of BaseRNNCell
        The cells the symbol was built with.
    prefix : str
        Prefix of the file names.
    epoch : int
        The epoch number.
    symbol : Symbol
        The network.
    arg_params : dict of str to NDArray
        The network's weights.
    aux_params : dict of str to NDArray
        The network's auxiliary states.

    Notes
    -----
    Writes ``prefix-symbol.json`` and ``prefix-%04d.params`` (with the epoch), as
    ``mx.model.save_checkpoint``.
    """
    for cell in _as_cells(cells):
        arg_params = cell.unpack_weights(arg_params)
    save_checkpoint(prefix, epoch, symbol, arg_params, aux_params)


def load_rnn_checkpoint(cells: BaseRNNCell | Sequence[BaseRNNCell], prefix: str,
                        epoch: int) -> tuple[Any, dict, dict]:
    """Load a checkpoint written by :func:`save_rnn_checkpoint`, packing the weights for
    ``cells``.

    Parameters
    ----------
    cells : BaseRNNCell or list of BaseRNNCell
        The cells the model uses.
    prefix : str
        Prefix of the file names.
    epoch : int
        The epoch to load.

    Returns
    -------
    symbol : Symbol
        The network read from ``prefix-symbol.json``.
    arg_params : dict of str to NDArray
        The weights, packed as the cells need them.
    aux_params : dict of str to NDArray
        The auxiliary states.
    """
    cell_list = _as_cells(cells)
    sym, arg, aux = load_checkpoint(prefix, epoch)
    for cell in cell_list:
        arg = cell.pack_weights(arg)
    return sym, arg, aux


def do_rnn_checkpoint(cells: BaseRNNCell | Sequence[BaseRNNCell], prefix: str,
                      period: int = 1) -> Callable[..., None]:
    """An epoch-end callback (for ``fit``'s ``epoch_end_callback``) that saves a
    :func:`save_rnn_checkpoint` every ``period`` epochs.

    Parameters
    ----------
    cells : BaseRNNCell or list of BaseRNNCell
        The cells the model uses.
    prefix : str
        Prefix of the file names.
    period : int, default 1
        Epochs between checkpoints (at least 1).
    """
    cell_list = _as_cells(cells)
    period = int(max(1, period))

    def _callback(iter_no: int, sym: Any = None, arg: Any = None, aux: Any = None) -> None:
        if (iter_no + 1) % period == 0:
            save_rnn_checkpoint(cell_list, prefix, iter_no + 1, sym, arg, aux)

    return _callback
