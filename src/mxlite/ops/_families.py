"""Imports every op family so that each registers its entries."""

from . import (  # noqa: F401
    contrib,
    control_flow,
    custom,
    detection,
    elemwise,
    image,
    linalg,
    loss,
    misc,
    nn,
    numpy_ops,
    reduce,
    rnn,
    sampling,
    tensor,
)
