"""ResNet V1 and V2 with 18/34/50/101/152 layers, as MXNet 1.9.1's model zoo builds them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ....base import MXNetError
from ... import nn
from ...block import HybridBlock
from ..model_store import _load_pretrained

__all__ = ["ResNetV1", "ResNetV2",
           "BasicBlockV1", "BasicBlockV2",
           "BottleneckV1", "BottleneckV2",
           "resnet18_v1", "resnet34_v1", "resnet50_v1", "resnet101_v1", "resnet152_v1",
           "resnet18_v2", "resnet34_v2", "resnet50_v2", "resnet101_v2", "resnet152_v2",
           "get_resnet"]


def _conv3x3(channels: int, stride: int, in_channels: int) -> nn.Conv2D:
    return nn.Conv2D(channels, kernel_size=3, strides=stride, padding=1, use_bias=False,
                     in_channels=in_channels)


# The residual blocks create their layers without entering their own name scope (as MXNet's
# do), so the layers are named in the enclosing stage's scope: ``stage1_conv0_weight``.

class BasicBlockV1(HybridBlock):
    r"""Two 3x3 convolutions with a shortcut, from `"Deep Residual Learning for Image
    Recognition" <http://arxiv.org/abs/1512.03385>`_ (ResNet V1 18 and 34).

    Parameters
    ----------
    channels : int
        Number of output channels.
    stride : int
        Stride of the first convolution (and of the shortcut's).
    downsample : bool, default False
        Pass the shortcut through a strided 1x1 convolution and BatchNorm.
    in_channels : int, default 0
        Number of input channels; 0 infers it from the first input.
    """

    def __init__(self, channels: int, stride: int, downsample: bool = False,
                 in_channels: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self.body = nn.HybridSequential(prefix="")
        self.body.add(_conv3x3(channels, stride, in_channels))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(_conv3x3(channels, 1, channels))
        self.body.add(nn.BatchNorm())
        self.downsample = _downsample_v1(channels, stride, in_channels) if downsample else None

    def hybrid_forward(self, F, x):
        out = self.body(x)
        residual = self.downsample(x) if self.downsample else x
        return F.Activation(residual + out, act_type="relu")


class BottleneckV1(HybridBlock):
    r"""1x1 reduce, 3x3, 1x1 expand with a shortcut, from `"Deep Residual Learning for Image
    Recognition" <http://arxiv.org/abs/1512.03385>`_ (ResNet V1 50, 101 and 152).

    Parameters
    ----------
    channels : int
        Number of output channels (the inner convolutions have ``channels // 4``).
    stride : int
        Stride of the first 1x1 convolution (and of the shortcut's).
    downsample : bool, default False
        Pass the shortcut through a strided 1x1 convolution and BatchNorm.
    in_channels : int, default 0
        Number of input channels; 0 infers it from the first input.
    """

    def __init__(self, channels: int, stride: int, downsample: bool = False,
                 in_channels: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self.body = nn.HybridSequential(prefix="")
        self.body.add(nn.Conv2D(channels // 4, kernel_size=1, strides=stride))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(_conv3x3(channels // 4, 1, channels // 4))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(nn.Conv2D(channels, kernel_size=1, strides=1))
        self.body.add(nn.BatchNorm())
        self.downsample = _downsample_v1(channels, stride, in_channels) if downsample else None

    def hybrid_forward(self, F, x):
        out = self.body(x)
        residual = self.downsample(x) if self.downsample else x
        return F.Activation(out + residual, act_type="relu")


def _downsample_v1(channels: int, stride: int, in_channels: int) -> nn.HybridSequential:
    out = nn.HybridSequential(prefix="")
    out.add(nn.Conv2D(channels, kernel_size=1, strides=stride, use_bias=False,
                      in_channels=in_channels))
    out.add(nn.BatchNorm())
    return out


class BasicBlockV2(HybridBlock):
    r"""Pre-activation basic block from `"Identity Mappings in Deep Residual Networks"
    <https://arxiv.org/abs/1603.05027>`_ (ResNet V2 18 and 34).

    Parameters
    ----------
    channels : int
        Number of output channels.
    stride : int
        Stride of the first convolution (and of the shortcut's).
    downsample : bool, default False
        Take the shortcut from the pre-activation through a strided 1x1 convolution.
    in_channels : int, default 0
        Number of input channels; 0 infers it from the first input.
    """

    def __init__(self, channels: int, stride: int, downsample: bool = False,
                 in_channels: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self.bn1 = nn.BatchNorm()
        self.conv1 = _conv3x3(channels, stride, in_channels)
        self.bn2 = nn.BatchNorm()
        self.conv2 = _conv3x3(channels, 1, channels)
        self.downsample = _downsample_v2(channels, stride, in_channels) if downsample else None

    def hybrid_forward(self, F, x):
        residual = x
        x = F.Activation(self.bn1(x), act_type="relu")
        if self.downsample:
            residual = self.downsample(x)
        x = self.conv1(x)
        x = self.conv2(F.Activation(self.bn2(x), act_type="relu"))
        return x + residual


class BottleneckV2(HybridBlock):
    r"""Pre-activation bottleneck from `"Identity Mappings in Deep Residual Networks"
    <https://arxiv.org/abs/1603.05027>`_ (ResNet V2 50, 101 and 152).

    Parameters
    ----------
    channels : int
        Number of output channels (the inner convolutions have ``channels // 4``).
    stride : int
        Stride of the 3x3 convolution (and of the shortcut's).
    downsample : bool, default False
        Take the shortcut from the pre-activation through a strided 1x1 convolution.
    in_channels : int, default 0
        Number of input channels; 0 infers it from the first input.
    """

    def __init__(self, channels: int, stride: int, downsample: bool = False,
                 in_channels: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self.bn1 = nn.BatchNorm()
        self.conv1 = nn.Conv2D(channels // 4, kernel_size=1, strides=1, use_bias=False)
        self.bn2 = nn.BatchNorm()
        self.conv2 = _conv3x3(channels // 4, stride, channels // 4)
        self.bn3 = nn.BatchNorm()
        self.conv3 = nn.Conv2D(channels, kernel_size=1, strides=1, use_bias=False)
        self.downsample = _downsample_v2(channels, stride, in_channels) if downsample else None

    def hybrid_forward(self, F, x):
        residual = x
        x = F.Activation(self.bn1(x), act_type="relu")
        if self.downsample:
            residual = self.downsample(x)
        x = self.conv1(x)
        x = self.conv2(F.Activation(self.bn2(x), act_type="relu"))
        x = self.conv3(F.Activation(self.bn3(x), act_type="relu"))
        return x + residual


def _downsample_v2(channels: int, stride: int, in_channels: int) -> nn.Conv2D:
    return nn.Conv2D(channels, kernel_size=1, strides=stride, use_bias=False,
                     in_channels=in_channels)


class _ResNet(HybridBlock):
    """What both versions share: argument checks and the stages of residual blocks."""

    def __init__(self, layers: Sequence[int], channels: Sequence[int], **kwargs: Any):
        super().__init__(**kwargs)
        if len(layers) != len(channels) - 1:
            raise MXNetError(f"{type(self).__name__}: channels {list(channels)} must be one "
                             f"longer than layers {list(layers)}")

    def _make_layer(self, block: type, layers: int, channels: int, stride: int,
                    stage_index: int, in_channels: int = 0) -> nn.HybridSequential:
        layer = nn.HybridSequential(prefix=f"stage{stage_index}_")
        with layer.name_scope():
            layer.add(block(channels, stride, channels != in_channels, in_channels=in_channels,
                            prefix=""))
            for _ in range(layers - 1):
                layer.add(block(channels, 1, False, in_channels=channels, prefix=""))
        return layer

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


class ResNetV1(_ResNet):
    r"""ResNet V1 from `"Deep Residual Learning for Image Recognition"
    <http://arxiv.org/abs/1512.03385>`_.

    Parameters
    ----------
    block : type
        The residual block: :class:`BasicBlockV1` or :class:`BottleneckV1`.
    layers : list of int
        Number of blocks in each stage.
    channels : list of int
        Channels of the stem and of each stage; one longer than ``layers``.
    classes : int, default 1000
        Number of classification classes.
    thumbnail : bool, default False
        Replace the 7x7/2 stem and its max pool by one 3x3/1 convolution (for small images).
    """

    def __init__(self, block: type, layers: Sequence[int], channels: Sequence[int],
                 classes: int = 1000, thumbnail: bool = False, **kwargs: Any):
        super().__init__(layers, channels, **kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            if thumbnail:
                self.features.add(_conv3x3(channels[0], 1, 0))
            else:
                self.features.add(nn.Conv2D(channels[0], 7, strides=2, padding=3,
                                            use_bias=False))
                self.features.add(nn.BatchNorm())
                self.features.add(nn.Activation("relu"))
                self.features.add(nn.MaxPool2D(3, strides=2, padding=1))
            for i, num_layer in enumerate(layers):
                self.features.add(self._make_layer(block, num_layer, channels[i + 1],
                                                   1 if i == 0 else 2, i + 1,
                                                   in_channels=channels[i]))
            self.features.add(nn.GlobalAvgPool2D())
            self.output = nn.Dense(classes, in_units=channels[-1])


class ResNetV2(_ResNet):
    r"""ResNet V2 from `"Identity Mappings in Deep Residual Networks"
    <https://arxiv.org/abs/1603.05027>`_.

    The input first goes through a BatchNorm without scale and shift (the data normalisation
    is learned), and the features end in BatchNorm, ReLU, global pooling and Flatten.

    Parameters
    ----------
    block : type
        The residual block: :class:`BasicBlockV2` or :class:`BottleneckV2`.
    layers : list of int
        Number of blocks in each stage.
    channels : list of int
        Channels of the stem and of each stage; one longer than ``layers``.
    classes : int, default 1000
        Number of classification classes.
    thumbnail : bool, default False
        Replace the 7x7/2 stem and its max pool by one 3x3/1 convolution (for small images).
    """

    def __init__(self, block: type, layers: Sequence[int], channels: Sequence[int],
                 classes: int = 1000, thumbnail: bool = False, **kwargs: Any):
        super().__init__(layers, channels, **kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            self.features.add(nn.BatchNorm(scale=False, center=False))
            if thumbnail:
                self.features.add(_conv3x3(channels[0], 1, 0))
            else:
                self.features.add(nn.Conv2D(channels[0], 7, strides=2, padding=3,
                                            use_bias=False))
                self.features.add(nn.BatchNorm())
                self.features.add(nn.Activation("relu"))
                self.features.add(nn.MaxPool2D(3, strides=2, padding=1))
            in_channels = channels[0]
            for i, num_layer in enumerate(layers):
                self.features.add(self._make_layer(block, num_layer, channels[i + 1],
                                                   1 if i == 0 else 2, i + 1,
                                                   in_channels=in_channels))
                in_channels = channels[i + 1]
            self.features.add(nn.BatchNorm())
            self.features.add(nn.Activation("relu"))
            self.features.add(nn.GlobalAvgPool2D())
            self.features.add(nn.Flatten())
            self.output = nn.Dense(classes, in_units=in_channels)


# num_layers: (block type, blocks per stage, channels of the stem and of each stage)
resnet_spec = {18: ("basic_block", [2, 2, 2, 2], [64, 64, 128, 256, 512]),
               34: ("basic_block", [3, 4, 6, 3], [64, 64, 128, 256, 512]),
               50: ("bottle_neck", [3, 4, 6, 3], [64, 256, 512, 1024, 2048]),
               101: ("bottle_neck", [3, 4, 23, 3], [64, 256, 512, 1024, 2048]),
               152: ("bottle_neck", [3, 8, 36, 3], [64, 256, 512, 1024, 2048])}

resnet_net_versions = [ResNetV1, ResNetV2]
resnet_block_versions = [{"basic_block": BasicBlockV1, "bottle_neck": BottleneckV1},
                         {"basic_block": BasicBlockV2, "bottle_neck": BottleneckV2}]


def get_resnet(version: int, num_layers: int, pretrained: bool = False, ctx=None,
               root: str | None = None, **kwargs: Any) -> ResNetV1 | ResNetV2:
    r"""ResNet ``version`` (1 or 2) with ``num_layers`` (18, 34, 50, 101 or 152) layers.

    Parameters
    ----------
    version : int
        1 (:class:`ResNetV1`) or 2 (:class:`ResNetV2`).
    num_layers : int
        18, 34, 50, 101 or 152.
    pretrained : bool, default False
        Load the pretrained parameters (``resnet{num_layers}_v{version}-<hash>.params`` in
        ``root``).
    ctx : Context, default CPU
        The context in which to load the pretrained weights.
    root : str, default $MXNET_HOME/models
        Folder of the pretrained parameter files.
    **kwargs
        Passed to the network (``classes``, ``thumbnail``, ``prefix``, ``params``).
    """
    if num_layers not in resnet_spec:
        raise MXNetError(f"Invalid number of layers: {num_layers}. Options are "
                         f"{sorted(resnet_spec)}")
    if version not in (1, 2):
        raise MXNetError(f"Invalid resnet version: {version}. Options are 1 and 2.")
    block_type, layers, channels = resnet_spec[num_layers]
    net_class = resnet_net_versions[version - 1]
    block_class = resnet_block_versions[version - 1][block_type]
    net = net_class(block_class, layers, channels, **kwargs)
    if not pretrained:
        return net
    return _load_pretrained(net, f"resnet{num_layers}_v{version}", ctx, root)


def resnet18_v1(**kwargs: Any) -> ResNetV1:
    """ResNet-18 V1 (``get_model('resnet18_v1')``); arguments as :func:`get_resnet`."""
    return get_resnet(1, 18, **kwargs)


def resnet34_v1(**kwargs: Any) -> ResNetV1:
    """ResNet-34 V1 (``get_model('resnet34_v1')``); arguments as :func:`get_resnet`."""
    return get_resnet(1, 34, **kwargs)


def resnet50_v1(**kwargs: Any) -> ResNetV1:
    """ResNet-50 V1 (``get_model('resnet50_v1')``); arguments as :func:`get_resnet`."""
    return get_resnet(1, 50, **kwargs)


def resnet101_v1(**kwargs: Any) -> ResNetV1:
    """ResNet-101 V1 (``get_model('resnet101_v1')``); arguments as :func:`get_resnet`."""
    return get_resnet(1, 101, **kwargs)


def resnet152_v1(**kwargs: Any) -> ResNetV1:
    """ResNet-152 V1 (``get_model('resnet152_v1')``); arguments as :func:`get_resnet`."""
    return get_resnet(1, 152, **kwargs)


def resnet18_v2(**kwargs: Any) -> ResNetV2:
    """ResNet-18 V2 (``get_model('resnet18_v2')``); arguments as :func:`get_resnet`."""
    return get_resnet(2, 18, **kwargs)


def resnet34_v2(**kwargs: Any) -> ResNetV2:
    """ResNet-34 V2 (``get_model('resnet34_v2')``); arguments as :func:`get_resnet`."""
    return get_resnet(2, 34, **kwargs)


def resnet50_v2(**kwargs: Any) -> ResNetV2:
    """ResNet-50 V2 (``get_model('resnet50_v2')``); arguments as :func:`get_resnet`."""
    return get_resnet(2, 50, **kwargs)


def resnet101_v2(**kwargs: Any) -> ResNetV2:
    """ResNet-101 V2 (``get_model('resnet101_v2')``); arguments as :func:`get_resnet`."""
    return get_resnet(2, 101, **kwargs)


def resnet152_v2(**kwargs: Any) -> ResNetV2:
    """ResNet-152 V2 (``get_model('resnet152_v2')``); arguments as :func:`get_resnet`."""
    return get_resnet(2, 152, **kwargs)
