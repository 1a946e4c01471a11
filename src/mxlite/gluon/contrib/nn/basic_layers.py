"""Contributed layers (``mx.gluon.contrib.nn``): MXNet 1.9.1's
``gluon/contrib/nn/basic_layers.py``.

In MXNet 1.9.1 :class:`Identity` and the concatenating containers (:class:`Concurrent`,
:class:`HybridConcurrent`) live here, not in ``gluon.nn``. Every computation is a registry
operator called through ``F`` (``concat``, ``reshape``, ``transpose``, ``swapaxes``,
``Embedding``). :class:`SyncBatchNorm` runs ``_contrib_SyncBatchNorm``; mxlite has one
device, so its statistics are the batch's, as BatchNorm's are.
"""

from __future__ import annotations

import warnings
from typing import Any

from .... import context
from .... import ndarray as nd
from ....base import MXNetError
from ...block import Block, HybridBlock
from ...nn import BatchNorm, HybridSequential, Sequential
from ...nn.basic_layers import _embedding_repr

__all__ = ["Concurrent", "HybridConcurrent", "Identity", "SparseEmbedding",
           "SyncBatchNorm", "PixelShuffle1D", "PixelShuffle2D", "PixelShuffle3D"]


class _ConcurrentMixin:
    """What the two concurrent containers share: the concatenation axis, and every child
    applied to the same input."""

    def __init__(self, axis: int = -1, prefix: str | None = None, params: Any = None) -> None:
        super().__init__(prefix=prefix, params=params)
        self.axis = axis

    def _branches(self, x: Any) -> list:
        return [block(x) for block in self._children.values()]


class Concurrent(_ConcurrentMixin, Sequential):
    """Lays `Block` s concurrently: feeds the input to every child and concatenates their
    outputs on `axis`.

    Example::

        net = Concurrent()
        # use net's name_scope to give children blocks appropriate names.
        with net.name_scope():
            net.add(nn.Dense(10, activation='relu'))
            net.add(nn.Dense(20))
            net.add(Identity())

    Parameters
    ----------
    axis : int, default -1
        The axis on which to concatenate the outputs.
    """

    def forward(self, x: Any) -> Any:
        return nd.concat(*self._branches(x), dim=self.axis)


class HybridConcurrent(_ConcurrentMixin, HybridSequential):
    """Lays `HybridBlock` s concurrently: feeds the input to every child and concatenates
    their outputs on `axis`.

    Example::

        net = HybridConcurrent()
        # use net's name_scope to give child Blocks appropriate names.
        with net.name_scope():
            net.add(nn.Dense(10, activation='relu'))
            net.add(nn.Dense(20))
            net.add(Identity())

    Parameters
    ----------
    axis : int, default -1
        The axis on which to concatenate the outputs.
    """

    def hybrid_forward(self, F: Any, x: Any) -> Any:  # noqa: N803
        return F.concat(*self._branches(x), dim=self.axis)


class Identity(HybridBlock):
    """Block that passes through the input directly.

    This block can be used in conjunction with HybridConcurrent
    block for residual connection.
    """

    def __init__(self, prefix: str | None = None, params: Any = None) -> None:
        super().__init__(prefix=prefix, params=params)

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        return x


class SparseEmbedding(Block):
    r"""Turns non-negative integers (indexes/tokens) into dense vectors of fixed size, with a
    ``row_sparse`` weight and gradient (MXNet's design for huge vocabularies).

    Parameters
    ----------
    input_dim : int
        Size of the vocabulary, i.e. maximum integer index + 1.
    output_dim : int
        Dimension of the dense embedding.
    dtype : str or np.dtype, default 'float32'
        Data type of output embeddings.
    weight_initializer : Initializer
        Initializer for the `embeddings` matrix.

    Inputs:
        - **data**: (N-1)-D tensor with shape: `(x1, x2, ..., xN-1)`.

    Output:
        - **out**: N-D tensor with shape: `(x1, x2, ..., xN-1, output_dim)`.
    """

    def __init__(self, input_dim: int, output_dim: int, dtype: Any = "float32",
                 weight_initializer: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._kwargs = {"input_dim": input_dim, "output_dim": output_dim, "dtype": dtype,
                        "sparse_grad": True}
        self.weight = self.params.get("weight", shape=(input_dim, output_dim),
                                      init=weight_initializer, dtype=dtype,
                                      grad_stype="row_sparse", stype="row_sparse")

    def forward(self, x: Any) -> Any:
        weight = self.weight.row_sparse_data(x)
        return nd.Embedding(x, weight, name="fwd", **self._kwargs)

    def __repr__(self) -> str:
        return _embedding_repr(self)


class SyncBatchNorm(BatchNorm):
    """Cross-device synchronized batch normalization (MXNet's ``_contrib_SyncBatchNorm``).

    Parameters
    ----------
    in_channels : int, default 0
        Number of channels (feature maps) in input data; 0 defers it to the first forward.
    num_devices : int, default number of visible GPUs (at least 1)
    momentum: float, default 0.9
        Momentum for the moving average.
    epsilon: float, default 1e-5
        Small float added to variance to avoid dividing by zero.
    center: bool, default True
        If True, add offset of `beta` to normalized tensor.
    scale: bool, default True
        If True, multiply by `gamma`.
    use_global_stats: bool, default False
        If True, use global moving statistics instead of local batch-norm.
    beta_initializer, gamma_initializer: str or `Initializer`
        Initializers of beta (default 'zeros') and gamma (default 'ones').
    running_mean_initializer, running_variance_initializer: str or `Initializer`
        Initializers of the running mean (default 'zeros') and variance (default 'ones').
    """

    def __init__(self, in_channels: int = 0, num_devices: int | None = None,
                 momentum: float = 0.9, epsilon: float = 1e-5, center: bool = True,
                 scale: bool = True, use_global_stats: bool = False,
                 beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 running_mean_initializer: Any = "zeros",
                 running_variance_initializer: Any = "ones", **kwargs: Any) -> None:
        super().__init__(
            axis=1, momentum=momentum, epsilon=epsilon, center=center, scale=scale,
            use_global_stats=use_global_stats, beta_initializer=beta_initializer,
            gamma_initializer=gamma_initializer,
            running_mean_initializer=running_mean_initializer,
            running_variance_initializer=running_variance_initializer,
            in_channels=in_channels, **kwargs)
        num_devices = self._get_num_devices() if num_devices is None else num_devices
        self._kwargs = {"eps": epsilon, "momentum": momentum, "fix_gamma": not scale,
                        "use_global_stats": use_global_stats, "ndev": num_devices,
                        "key": self.prefix}

    def _get_num_devices(self) -> int:
        warnings.warn("Caution using SyncBatchNorm: "
                      "if not using all the GPUs, please mannually set num_devices",
                      UserWarning, stacklevel=3)
        return max(context.num_gpus(), 1)

    def _batch_norm(self, F: Any) -> Any:
        return F.contrib.SyncBatchNorm


def _factors(cls: str, factor: Any, n: int) -> tuple[int, ...]:
    try:
        return (int(factor),) * n
    except TypeError:
        factors = tuple(int(f) for f in factor)
    if len(factors) != n:
        raise MXNetError(f"{cls}: factor must be an int or {n} ints, got {factor!r}")
    return factors


class PixelShuffle1D(HybridBlock):
    r"""Pixel-shuffle layer for upsampling in 1 dimension: ``(N, f*C, W)`` to
    ``(N, C, W*f)``.

    Parameters
    ----------
    factor : int or 1-tuple of int
        Upsampling factor, applied to the ``W`` dimension.
    """

    def __init__(self, factor: Any) -> None:
        super().__init__()
        self._factor = int(factor)

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        f = self._factor
        x = F.reshape(x, (0, -4, -1, f, 0))  # (N, C, f, W)
        x = F.transpose(x, (0, 1, 3, 2))     # (N, C, W, f)
        return F.reshape(x, (0, 0, -3))      # (N, C, W*f)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self._factor})"


class PixelShuffle2D(HybridBlock):
    r"""Pixel-shuffle layer for upsampling in 2 dimensions: ``(N, f1*f2*C, H, W)`` to
    ``(N, C, H*f1, W*f2)`` (Shi et al., 2016, sub-pixel convolution).

    Parameters
    ----------
    factor : int or 2-tuple of int
        Upsampling factors, applied to the ``H`` and ``W`` dimensions, in that order.
    """

    def __init__(self, factor: Any) -> None:
        super().__init__()
        self._factors = _factors("PixelShuffle2D", factor, 2)

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        f1, f2 = self._factors
        x = F.reshape(x, (0, -4, -1, f1 * f2, 0, 0))  # (N, C, f1*f2, H, W)
        x = F.reshape(x, (0, 0, -4, f1, f2, 0, 0))    # (N, C, f1, f2, H, W)
        x = F.transpose(x, (0, 1, 4, 2, 5, 3))        # (N, C, H, f1, W, f2)
        return F.reshape(x, (0, 0, -3, -3))           # (N, C, H*f1, W*f2)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self._factors})"


class PixelShuffle3D(HybridBlock):
    r"""Pixel-shuffle layer for upsampling in 3 dimensions: ``(N, f1*f2*f3*C, D, H, W)`` to
    ``(N, C, D*f1, H*f2, W*f3)``.

    Parameters
    ----------
    factor : int or 3-tuple of int
        Upsampling factors, applied to the ``D``, ``H`` and ``W`` dimensions, in that order.
    """

    def __init__(self, factor: Any) -> None:
        super().__init__()
        self._factors = _factors("PixelShuffle3D", factor, 3)

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        # MXNet's transpose takes at most 6 axes, so the 7-D shuffle is done in three swaps.
        f1, f2, f3 = self._factors
        x = F.reshape(x, (0, -4, -1, f1 * f2 * f3, 0, 0, 0))  # (N, C, f1*f2*f3, D, H, W)
        x = F.swapaxes(x, 2, 3)                               # (N, C, D, f1*f2*f3, H, W)
        x = F.reshape(x, (0, 0, 0, -4, f1, f2 * f3, 0, 0))    # (N, C, D, f1, f2*f3, H, W)
        x = F.reshape(x, (0, 0, -3, 0, 0, 0))                 # (N, C, D*f1, f2*f3, H, W)
        x = F.swapaxes(x, 3, 4)                               # (N, C, D*f1, H, f2*f3, W)
        x = F.reshape(x, (0, 0, 0, 0, -4, f2, f3, 0))         # (N, C, D*f1, H, f2, f3, W)
        x = F.reshape(x, (0, 0, 0, -3, 0, 0))                 # (N, C, D*f1, H*f2, f3, W)
        x = F.swapaxes(x, 4, 5)                               # (N, C, D*f1, H*f2, W, f3)
        return F.reshape(x, (0, 0, 0, 0, -3))                 # (N, C, D*f1, H*f2, W*f3)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self._factors})"
