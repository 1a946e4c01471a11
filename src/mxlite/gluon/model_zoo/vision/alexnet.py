"""AlexNet, as MXNet 1.9.1's model zoo builds it."""

from __future__ import annotations

from typing import Any

from ... import nn
from ...block import HybridBlock
from ..model_store import _load_pretrained

__all__ = ["AlexNet", "alexnet"]


class AlexNet(HybridBlock):
    r"""AlexNet from `"One weird trick..." <https://arxiv.org/abs/1404.5997>`_.

    Children ``features`` (convolutions, pools and the two hidden Dense layers) and ``output``.

    Parameters
    ----------
    classes : int, default 1000
        Number of classes for the output layer.
    """

    def __init__(self, classes: int = 1000, **kwargs: Any):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            with self.features.name_scope():
                add = self.features.add
                add(nn.Conv2D(64, kernel_size=11, strides=4, padding=2, activation="relu"))
                add(nn.MaxPool2D(pool_size=3, strides=2))
                add(nn.Conv2D(192, kernel_size=5, padding=2, activation="relu"))
                add(nn.MaxPool2D(pool_size=3, strides=2))
                add(nn.Conv2D(384, kernel_size=3, padding=1, activation="relu"))
                add(nn.Conv2D(256, kernel_size=3, padding=1, activation="relu"))
                add(nn.Conv2D(256, kernel_size=3, padding=1, activation="relu"))
                add(nn.MaxPool2D(pool_size=3, strides=2))
                add(nn.Flatten())
                add(nn.Dense(4096, activation="relu"))
                add(nn.Dropout(0.5))
                add(nn.Dense(4096, activation="relu"))
                add(nn.Dropout(0.5))
            self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def alexnet(pretrained: bool = False, ctx=None, root: str | None = None,
            **kwargs: Any) -> AlexNet:
    r"""AlexNet from `"One weird trick..." <https://arxiv.org/abs/1404.5997>`_.

    Parameters
    ----------
    pretrained : bool, default False
        Load the pretrained parameters (``alexnet-44335d1f.params`` in ``root``).
    ctx : Context, default CPU
        The context in which to load the pretrained weights.
    root : str, default $MXNET_HOME/models
        Folder of the pretrained parameter files.
    **kwargs
        Passed to :class:`AlexNet` (``classes``, ``prefix``, ``params``).
    """
    net = AlexNet(**kwargs)
    return _load_pretrained(net, "alexnet", ctx, root) if pretrained else net
