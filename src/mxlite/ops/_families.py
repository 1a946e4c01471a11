"""Imports every op family so that each registers its entries."""

from . import (  # noqa: F401
    detection,
    elemwise,
    linalg,
    loss,
    misc,
    nn,
    reduce,
    sampling,
    tensor,
)
