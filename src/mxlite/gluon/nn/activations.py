"""Activation layers (``mx.gluon.nn``): MXNet 1.9.1's ``gluon/nn/activations.py``.

Each layer is one registry operator (``Activation``, ``LeakyReLU``, ``sigmoid``) called through
``F``, so it runs imperatively, under autograd and inside a hybridized graph alike. Parameter
names, defaults and ``repr`` strings are MXNet's.
"""

from __future__ import annotations

from typing import Any

from ... import initializer
from ...base import MXNetError
from ..block import HybridBlock

__all__ = ["Activation", "LeakyReLU", "PReLU", "ELU", "SELU", "Swish", "GELU"]

# One shared default instance, as MXNet's default argument is.
_PRELU_ALPHA = initializer.Constant(0.25)


class Activation(HybridBlock):
    r"""Applies an activation function to input.

    Parameters
    ----------
    activation : str
        Name of activation function to use: ``'relu'``, ``'sigmoid'``, ``'tanh'``,
        ``'softrelu'`` or ``'softsign'`` (see :func:`mxlite.ndarray.Activation`).

    Inputs:
        - **data**: input tensor with arbitrary shape.

    Outputs:
        - **out**: output tensor with the same shape as `data`.
    """

    def __init__(self, activation: str, **kwargs: Any) -> None:
        # Set before Block.__init__: the default prefix comes from _alias().
        self._act_type = activation
        super().__init__(**kwargs)

    def _alias(self) -> str:
        return self._act_type

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        return F.Activation(x, act_type=self._act_type, name="fwd")

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self._act_type})"


class LeakyReLU(HybridBlock):
    r"""Leaky version of a Rectified Linear Unit: ``x`` for ``x >= 0``, ``alpha * x`` below.

    It allows a small gradient when the unit is not active.

    Parameters
    ----------
    alpha : float
        slope coefficient for the negative half axis. Must be >= 0.

    Inputs:
        - **data**: input tensor with arbitrary shape.

    Outputs:
        - **out**: output tensor with the same shape as `data`.
    """

    def __init__(self, alpha: float, **kwargs: Any) -> None:
        if not alpha >= 0:
            raise MXNetError(f"LeakyReLU: alpha (slope coefficient) must be no less than 0, "
                             f"got {alpha!r}")
        super().__init__(**kwargs)
        self._alpha = alpha

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        return F.LeakyReLU(x, act_type="leaky", slope=self._alpha, name="fwd")

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self._alpha})"


class PReLU(HybridBlock):
    r"""Parametric leaky ReLU (He et al., 2015): ``alpha * x`` for ``x < 0`` with a learned
    ``alpha``.

    Parameters
    ----------
    alpha_initializer : Initializer, default Constant(0.25)
        Initializer for the ``alpha`` parameter.
    in_channels : int, default 1
        Number of channels (alpha parameters) to learn. Can either be 1 or ``n`` where ``n``
        is the size of the second dimension of the input tensor.

    Inputs:
        - **data**: input tensor with arbitrary shape.

    Outputs:
        - **out**: output tensor with the same shape as `data`.
    """

    def __init__(self, alpha_initializer: Any = _PRELU_ALPHA,
                 in_channels: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        with self.name_scope():
            self.alpha = self.params.get("alpha", shape=(in_channels,), init=alpha_initializer)

    def hybrid_forward(self, F: Any, x: Any, alpha: Any) -> Any:
        return F.LeakyReLU(x, gamma=alpha, act_type="prelu", name="fwd")


class ELU(HybridBlock):
    r"""Exponential Linear Unit (Clevert et al., 2016): ``alpha * (exp(x) - 1)`` for ``x < 0``.

    Parameters
    ----------
    alpha : float, default 1.0
        The alpha parameter as described by Clevert et al, 2016.

    Inputs:
        - **data**: input tensor with arbitrary shape.

    Outputs:
        - **out**: output tensor with the same shape as `data`.
    """

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._alpha = alpha

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        # MXNet passes no name here, so the node is named by the operator ('leakyrelu0').
        return F.LeakyReLU(x, act_type="elu", slope=self._alpha)


class SELU(HybridBlock):
    r"""Scaled Exponential Linear Unit (Klambauer et al., 2017).

    Inputs:
        - **data**: input tensor with arbitrary shape.

    Outputs:
        - **out**: output tensor with the same shape as `data`.
    """

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        return F.LeakyReLU(x, act_type="selu", name="fwd")


class GELU(HybridBlock):
    r"""Gaussian Error Linear Unit (Hendrycks et al., 2016), MXNet's erf form.

    Inputs:
        - **data**: input tensor with arbitrary shape.

    Outputs:
        - **out**: output tensor with the same shape as `data`.
    """

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        return F.LeakyReLU(x, act_type="gelu", name="fwd")


class Swish(HybridBlock):
    r"""Swish activation (Ramachandran et al., 2017): ``x * sigmoid(beta * x)``.

    Parameters
    ----------
    beta : float, default 1.0
        swish(x) = x * sigmoid(beta*x)

    Inputs:
        - **data**: input tensor with arbitrary shape.

    Outputs:
        - **out**: output tensor with the same shape as `data`.
    """

    def __init__(self, beta: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._beta = beta

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        return x * F.sigmoid(self._beta * x, name="fwd")
