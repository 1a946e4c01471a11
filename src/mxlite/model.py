"""Checkpoints (``mx.model``): a symbol file plus a params file per epoch.

``prefix-symbol.json`` holds the graph and ``prefix-%04d.params`` an array file whose keys are
``arg:<name>`` and ``aux:<name>``, exactly as MXNet 1.x writes them.
"""

from __future__ import annotations

import logging
from typing import Any

from . import ndarray as nd
from . import symbol as sym
from .base import MXNetError
from .callback import BatchEndParam
from .context import cpu

__all__ = ["save_checkpoint", "load_checkpoint", "load_params", "BatchEndParam"]


def _params_name(prefix: str, epoch: int) -> str:
    return f"{prefix}-{epoch:04d}.params"


def save_checkpoint(prefix: str, epoch: int, symbol: Any, arg_params: dict,
                    aux_params: dict, remove_amp_cast: bool = True) -> None:
    """Save ``symbol`` to ``prefix-symbol.json`` and the parameters to ``prefix-%04d.params``.

    Parameters
    ----------
    prefix : str
        Prefix of the checkpoint files.
    epoch : int
        The epoch number, written as four digits.
    symbol : Symbol or None
        The network; ``None`` saves the parameters only.
    arg_params, aux_params : dict of str to NDArray
        Weights and auxiliary states, stored as ``arg:<name>`` and ``aux:<name>``.
    """
    if symbol is not None:
        symbol.save(f"{prefix}-symbol.json", remove_amp_cast=remove_amp_cast)
    save_dict = {f"arg:{k}": v.as_in_context(cpu()) for k, v in arg_params.items()}
    save_dict.update({f"aux:{k}": v.as_in_context(cpu()) for k, v in aux_params.items()})
    param_name = _params_name(prefix, epoch)
    nd.save(param_name, save_dict)
    logging.info('Saved checkpoint to "%s"', param_name)


def load_params(prefix: str, epoch: int) -> tuple[dict, dict]:
    """``(arg_params, aux_params)`` from ``prefix-%04d.params``."""
    fname = _params_name(prefix, epoch)
    save_dict = nd.load(fname)
    arg_params: dict = {}
    aux_params: dict = {}
    if not save_dict:
        logging.warning("Params file '%s' is empty", fname)
        return arg_params, aux_params
    if not isinstance(save_dict, dict):
        raise MXNetError(f"{fname}: a checkpoint's params file holds named arrays "
                         "('arg:<name>' / 'aux:<name>'), but this one holds an unnamed list")
    for key, value in save_dict.items():
        kind, _, name = key.partition(":")
        if kind == "arg":
            arg_params[name] = value
        elif kind == "aux":
            aux_params[name] = value
    return arg_params, aux_params


def load_checkpoint(prefix: str, epoch: int) -> tuple[Any, dict, dict]:
    """``(symbol, arg_params, aux_params)`` saved by :func:`save_checkpoint`."""
    symbol = sym.load(f"{prefix}-symbol.json")
    arg_params, aux_params = load_params(prefix, epoch)
    return symbol, arg_params, aux_params
