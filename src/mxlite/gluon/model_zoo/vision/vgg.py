"""VGG 11/13/16/19, with and without BatchNorm, as MXNet 1.9.1's model zoo builds them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ....base import MXNetError
from ....initializer import Xavier
from ... import nn
from ...block import HybridBlock
from ..model_store import _load_pretrained

__all__ = ["VGG", "vgg11", "vgg13", "vgg16", "vgg19",
           "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn", "get_vgg"]


class VGG(HybridBlock):
    r"""VGG from `"Very Deep Convolutional Networks for Large-Scale Image Recognition"
    <https://arxiv.org/abs/1409.1556>`_.

    ``features`` holds the 3x3 convolutions (each followed by BatchNorm when ``batch_norm``,
    then ReLU), a 2x2 max pool after each group, and the two hidden Dense(4096) layers with
    Dropout; ``output`` is the classifier.

    Parameters
    ----------
    layers : list of int
        Number of convolutions in each group.
    filters : list of int
        Channels of each group; as long as ``layers``.
    classes : int, default 1000
        Number of classification classes.
    batch_norm : bool, default False
        Put a BatchNorm after every convolution.
    """

    def __init__(self, layers: Sequence[int], filters: Sequence[int], classes: int = 1000,
                 batch_norm: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        if len(layers) != len(filters):
            raise MXNetError(f"VGG: layers {list(layers)} and filters {list(filters)} must "
                             "have the same length")
        with self.name_scope():
            self.features = self._make_features(layers, filters, batch_norm)
            for _ in range(2):
                self.features.add(nn.Dense(4096, activation="relu", weight_initializer="normal",
                                           bias_initializer="zeros"))
                self.features.add(nn.Dropout(rate=0.5))
            self.output = nn.Dense(classes, weight_initializer="normal",
                                   bias_initializer="zeros")

    def _make_features(self, layers: Sequence[int], filters: Sequence[int],
                       batch_norm: bool) -> nn.HybridSequential:
        featurizer = nn.HybridSequential(prefix="")
        for num, channels in zip(layers, filters):
            for _ in range(num):
                featurizer.add(nn.Conv2D(
                    channels, kernel_size=3, padding=1,
                    weight_initializer=Xavier(rnd_type="gaussian", factor_type="out",
                                              magnitude=2),
                    bias_initializer="zeros"))
                if batch_norm:
                    featurizer.add(nn.BatchNorm())
                featurizer.add(nn.Activation("relu"))
            featurizer.add(nn.MaxPool2D(strides=2))
        return featurizer

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# num_layers: (convolutions per group, channels per group)
vgg_spec = {11: ([1, 1, 2, 2, 2], [64, 128, 256, 512, 512]),
            13: ([2, 2, 2, 2, 2], [64, 128, 256, 512, 512]),
            16: ([2, 2, 3, 3, 3], [64, 128, 256, 512, 512]),
            19: ([2, 2, 4, 4, 4], [64, 128, 256, 512, 512])}


def get_vgg(num_layers: int, pretrained: bool = False, ctx=None, root: str | None = None,
            **kwargs: Any) -> VGG:
    r"""VGG with ``num_layers`` (11, 13, 16 or 19) layers; see :class:`VGG`.

    Parameters
    ----------
    num_layers : int
        11, 13, 16 or 19.
    pretrained : bool, default False
        Load the pretrained parameters (``vgg{num_layers}[_bn]-<hash>.params`` in ``root``).
    ctx : Context, default CPU
        The context in which to load the pretrained weights.
    root : str, default $MXNET_HOME/models
        Folder of the pretrained parameter files.
    **kwargs
        Passed to :class:`VGG` (``classes``, ``batch_norm``, ``prefix``, ``params``).
    """
    if num_layers not in vgg_spec:
        raise MXNetError(f"Invalid number of layers: {num_layers}. Options are "
                         f"{sorted(vgg_spec)}")
    layers, filters = vgg_spec[num_layers]
    net = VGG(layers, filters, **kwargs)
    if not pretrained:
        return net
    suffix = "_bn" if kwargs.get("batch_norm") else ""
    return _load_pretrained(net, f"vgg{num_layers}{suffix}", ctx, root)


def vgg11(**kwargs: Any) -> VGG:
    """VGG-11 (``get_model('vgg11')``); arguments as :func:`get_vgg`."""
    return get_vgg(11, **kwargs)


def vgg13(**kwargs: Any) -> VGG:
    """VGG-13 (``get_model('vgg13')``); arguments as :func:`get_vgg`."""
    return get_vgg(13, **kwargs)


def vgg16(**kwargs: Any) -> VGG:
    """VGG-16 (``get_model('vgg16')``); arguments as :func:`get_vgg`."""
    return get_vgg(16, **kwargs)


def vgg19(**kwargs: Any) -> VGG:
    """VGG-19 (``get_model('vgg19')``); arguments as :func:`get_vgg`."""
    return get_vgg(19, **kwargs)


def vgg11_bn(**kwargs: Any) -> VGG:
    """VGG-11 with BatchNorm (``get_model('vgg11_bn')``); arguments as :func:`get_vgg`."""
    return get_vgg(11, **{**kwargs, "batch_norm": True})


def vgg13_bn(**kwargs: Any) -> VGG:
    """VGG-13 with BatchNorm (``get_model('vgg13_bn')``); arguments as :func:`get_vgg`."""
    return get_vgg(13, **{**kwargs, "batch_norm": True})


def vgg16_bn(**kwargs: Any) -> VGG:
    """VGG-16 with BatchNorm (``get_model('vgg16_bn')``); arguments as :func:`get_vgg`."""
    return get_vgg(16, **{**kwargs, "batch_norm": True})


def vgg19_bn(**kwargs: Any) -> VGG:
    """VGG-19 with BatchNorm (``get_model('vgg19_bn')``); arguments as :func:`get_vgg`."""
    return get_vgg(19, **{**kwargs, "batch_norm": True})
