"""Optimizers and the updater (``mx.optimizer``), as MXNet 1.9.1 defines them."""

from . import contrib
from .optimizer import (
    DCASGD,
    FTML,
    LAMB,
    NAG,
    SGD,
    SGLD,
    AdaDelta,
    AdaGrad,
    Adam,
    Adamax,
    Ftrl,
    Nadam,
    Optimizer,
    RMSProp,
    Signum,
    Test,
    Updater,
    ccSGD,
    create,
    get_updater,
    register,
)
