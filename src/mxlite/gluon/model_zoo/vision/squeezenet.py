"""SqueezeNet 1.0 and 1.1, as MXNet 1.9.1's model zoo builds them."""

from __future__ import annotations

from typing import Any

from ....base import MXNetError
from ... import nn
from ...block import HybridBlock
from ...contrib.nn import HybridConcurrent
from ..model_store import _load_pretrained

__all__ = ["SqueezeNet", "squeezenet1_0", "squeezenet1_1"]


def _make_fire_conv(channels: int, kernel_size: int, padding: int = 0) -> nn.HybridSequential:
    out = nn.HybridSequential(prefix="")
    out.add(nn.Conv2D(channels, kernel_size, padding=padding))
    out.add(nn.Activation("relu"))
    return out


def _make_fire(squeeze: int, expand1x1: int, expand3x3: int) -> nn.HybridSequential:
    """A Fire module: a 1x1 squeeze, then 1x1 and 3x3 expands concatenated on channels."""
    out = nn.HybridSequential(prefix="")
    out.add(_make_fire_conv(squeeze, 1))
    paths = HybridConcurrent(axis=1, prefix="")
    paths.add(_make_fire_conv(expand1x1, 1))
    paths.add(_make_fire_conv(expand3x3, 3, 1))
    out.add(paths)
    return out


class SqueezeNet(HybridBlock):
    r"""SqueezeNet from `"SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and
    <0.5MB model size" <https://arxiv.org/abs/1602.07360>`_; version 1.1 (from the authors'
    repository) needs 2.4x less computation for the same accuracy.

    The output is a 1x1 convolution to ``classes`` channels, ReLU, a 13x13 average pool and
    Flatten, so inputs must be at least 209x209 (1.1) or 213x213 (1.0).

    Parameters
    ----------
    version : str
        ``'1.0'`` or ``'1.1'``.
    classes : int, default 1000
        Number of classification classes.
    """

    def __init__(self, version: str, classes: int = 1000, **kwargs: Any):
        super().__init__(**kwargs)
        if version not in ("1.0", "1.1"):
            raise MXNetError(f"Unsupported SqueezeNet version {version}: 1.0 or 1.1 expected")
        pool = {"pool_size": 3, "strides": 2, "ceil_mode": True}
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            add = self.features.add
            if version == "1.0":
                add(nn.Conv2D(96, kernel_size=7, strides=2))
                add(nn.Activation("relu"))
                add(nn.MaxPool2D(**pool))
                add(_make_fire(16, 64, 64))
                add(_make_fire(16, 64, 64))
                add(_make_fire(32, 128, 128))
                add(nn.MaxPool2D(**pool))
                add(_make_fire(32, 128, 128))
                add(_make_fire(48, 192, 192))
                add(_make_fire(48, 192, 192))
                add(_make_fire(64, 256, 256))
                add(nn.MaxPool2D(**pool))
                add(_make_fire(64, 256, 256))
            else:
                add(nn.Conv2D(64, kernel_size=3, strides=2))
                add(nn.Activation("relu"))
                add(nn.MaxPool2D(**pool))
                add(_make_fire(16, 64, 64))
                add(_make_fire(16, 64, 64))
                add(nn.MaxPool2D(**pool))
                add(_make_fire(32, 128, 128))
                add(_make_fire(32, 128, 128))
                add(nn.MaxPool2D(**pool))
                add(_make_fire(48, 192, 192))
                add(_make_fire(48, 192, 192))
                add(_make_fire(64, 256, 256))
                add(_make_fire(64, 256, 256))
            add(nn.Dropout(0.5))

            self.output = nn.HybridSequential(prefix="")
            self.output.add(nn.Conv2D(classes, kernel_size=1))
            self.output.add(nn.Activation("relu"))
            self.output.add(nn.AvgPool2D(13))
            self.output.add(nn.Flatten())

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def get_squeezenet(version: str, pretrained: bool = False, ctx=None, root: str | None = None,
                   **kwargs: Any) -> SqueezeNet:
    r"""SqueezeNet ``version`` (``'1.0'`` or ``'1.1'``); see :class:`SqueezeNet`.

    Parameters
    ----------
    version : str
        ``'1.0'`` or ``'1.1'``.
    pretrained : bool, default False
        Load the pretrained parameters (``squeezenet{version}-<hash>.params`` in ``root``).
    ctx : Context, default CPU
        The context in which to load the pretrained weights.
    root : str, default $MXNET_HOME/models
        Folder of the pretrained parameter files.
    """
    net = SqueezeNet(version, **kwargs)
    return _load_pretrained(net, f"squeezenet{version}", ctx, root) if pretrained else net


def squeezenet1_0(**kwargs: Any) -> SqueezeNet:
    """SqueezeNet 1.0 (``get_model('squeezenet1.0')``); arguments as :func:`get_squeezenet`."""
    return get_squeezenet("1.0", **kwargs)


def squeezenet1_1(**kwargs: Any) -> SqueezeNet:
    """SqueezeNet 1.1 (``get_model('squeezenet1.1')``); arguments as :func:`get_squeezenet`."""
    return get_squeezenet("1.1", **kwargs)
