r"""Predefined image-classification networks (``gluon.model_zoo.vision``), as in MXNet 1.9.1.

AlexNet, DenseNet, Inception V3, ResNet V1/V2, SqueezeNet, VGG, MobileNet and MobileNetV2,
with MXNet's class names, block structure (``features`` then ``output``) and parameter names,
so a ``.params`` file that MXNet's model zoo saved (``save_parameters``) loads with
``load_parameters`` and computes what it computed in MXNet::

    from mxlite.gluon.model_zoo import vision
    net = vision.resnet18_v1()                       # random weights after initialize()
    net = vision.get_model('resnet18_v1', pretrained=True)   # ~/.mxnet/models/...

``pretrained=True`` reads ``{root}/{name}-{short_hash}.params`` (``root`` defaults to
``$MXNET_HOME/models``, i.e. ``~/.mxnet/models``), checked against MXNet's SHA-1. mxlite does
not download: when the file is absent the error says which file to put where.

The pretrained networks expect mini-batches of RGB images of shape (N, 3, H, W), H and W at
least 224 (299 for Inception V3), scaled to [0, 1] and normalised with
``mean = [0.485, 0.456, 0.406]`` and ``std = [0.229, 0.224, 0.225]``.
"""

from __future__ import annotations

from typing import Any

from ..model_store import ModelNameError
from .alexnet import AlexNet, alexnet
from .densenet import DenseNet, densenet121, densenet161, densenet169, densenet201
from .inception import Inception3, inception_v3
from .mobilenet import (
    MobileNet,
    MobileNetV2,
    get_mobilenet,
    get_mobilenet_v2,
    mobilenet0_5,
    mobilenet0_25,
    mobilenet0_75,
    mobilenet1_0,
    mobilenet_v2_0_5,
    mobilenet_v2_0_25,
    mobilenet_v2_0_75,
    mobilenet_v2_1_0,
)
from .resnet import (
    BasicBlockV1,
    BasicBlockV2,
    BottleneckV1,
    BottleneckV2,
    ResNetV1,
    ResNetV2,
    get_resnet,
    resnet18_v1,
    resnet18_v2,
    resnet34_v1,
    resnet34_v2,
    resnet50_v1,
    resnet50_v2,
    resnet101_v1,
    resnet101_v2,
    resnet152_v1,
    resnet152_v2,
)
from .squeezenet import SqueezeNet, squeezenet1_0, squeezenet1_1
from .vgg import (
    VGG,
    get_vgg,
    vgg11,
    vgg11_bn,
    vgg13,
    vgg13_bn,
    vgg16,
    vgg16_bn,
    vgg19,
    vgg19_bn,
)

_models = {
    "resnet18_v1": resnet18_v1, "resnet34_v1": resnet34_v1, "resnet50_v1": resnet50_v1,
    "resnet101_v1": resnet101_v1, "resnet152_v1": resnet152_v1,
    "resnet18_v2": resnet18_v2, "resnet34_v2": resnet34_v2, "resnet50_v2": resnet50_v2,
    "resnet101_v2": resnet101_v2, "resnet152_v2": resnet152_v2,
    "vgg11": vgg11, "vgg13": vgg13, "vgg16": vgg16, "vgg19": vgg19,
    "vgg11_bn": vgg11_bn, "vgg13_bn": vgg13_bn, "vgg16_bn": vgg16_bn, "vgg19_bn": vgg19_bn,
    "alexnet": alexnet,
    "densenet121": densenet121, "densenet161": densenet161, "densenet169": densenet169,
    "densenet201": densenet201,
    "squeezenet1.0": squeezenet1_0, "squeezenet1.1": squeezenet1_1,
    "inceptionv3": inception_v3,
    "mobilenet1.0": mobilenet1_0, "mobilenet0.75": mobilenet0_75,
    "mobilenet0.5": mobilenet0_5, "mobilenet0.25": mobilenet0_25,
    "mobilenetv2_1.0": mobilenet_v2_1_0, "mobilenetv2_0.75": mobilenet_v2_0_75,
    "mobilenetv2_0.5": mobilenet_v2_0_5, "mobilenetv2_0.25": mobilenet_v2_0_25,
}


def get_model(name: str, **kwargs: Any):
    """A predefined network by name (case-insensitive): ``'resnet50_v2'``, ``'vgg16_bn'``...

    Parameters
    ----------
    name : str
        Name of the model; every name is one of MXNet 1.9.1's.
    pretrained : bool, default False
        Load the pretrained parameters from ``root`` (see the module's documentation).
    classes : int
        Number of classes for the output layer.
    ctx : Context, default CPU
        The context in which to load the pretrained weights.
    root : str, default $MXNET_HOME/models
        Folder of the pretrained parameter files.

    Returns
    -------
    HybridBlock
        The network.
    """
    key = name.lower()
    if key not in _models:
        raise ModelNameError(f"Model {name} is not supported. Available options are\n\t"
                             + "\n\t".join(sorted(_models)))
    return _models[key](**kwargs)
