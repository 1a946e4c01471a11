"""``mx.gluon.contrib.cnn``: the deformable convolution layers of MXNet 1.9.1
(https://arxiv.org/abs/1703.06211, and the modulated v2 of https://arxiv.org/abs/1811.11168).

Each is a ``Convolution`` computing the sampling offsets (and, modulated, the masks) from the
input, feeding the registry's ``_contrib_DeformableConvolution`` /
``_contrib_ModulatedDeformableConvolution`` operator.
"""

from __future__ import annotations

from typing import Any

from .... import symbol
from ....base import MXNetError, numeric_types
from ...block import HybridBlock
from ...nn import Activation

__all__ = ["DeformableConvolution", "ModulatedDeformableConvolution"]


class _DeformableBase(HybridBlock):
    """Parameters and settings both layers share.

    Parameters
    ----------
    channels : int
        Number of output channels.
    kernel_size, strides, padding, dilation : int or tuple of 2 ints
    groups : int, default 1
    num_deformable_group : int, default 1
        Number of groups of channels sharing one set of offsets.
    layout : {'NCHW', 'NHWC'}, default 'NCHW'
    use_bias : bool, default True
    in_channels : int, default 0
        Input channels; 0 infers them from the first input.
    activation : str, optional
        An ``Activation`` applied to the output.
    weight_initializer, bias_initializer : str or Initializer
    offset_weight_initializer, offset_bias_initializer : str or Initializer, default 'zeros'
        Of the convolution computing the offsets (zeros: it starts as a plain convolution).
    offset_use_bias : bool, default True
    op_name : str
        Kept for MXNet's signature.
    adj : tuple, optional
        Passed to both operators when given.
    prefix, params
        As every Block.
    """

    _offset_factor = 2  # offset channels per kernel position and deformable group

    def __init__(self, channels: int, kernel_size: Any = (1, 1), strides: Any = (1, 1),
                 padding: Any = (0, 0), dilation: Any = (1, 1), groups: int = 1,
                 num_deformable_group: int = 1, layout: str = "NCHW", use_bias: bool = True,
                 in_channels: int = 0, activation: str | None = None,
                 weight_initializer: Any = None, bias_initializer: Any = "zeros",
                 offset_weight_initializer: Any = "zeros",
                 offset_bias_initializer: Any = "zeros", offset_use_bias: bool = True,
                 op_name: str = "", adj: Any = None, prefix: str | None = None,
                 params: Any = None):
        super().__init__(prefix=prefix, params=params)
        with self.name_scope():
            self._channels = channels
            self._in_channels = in_channels
            if layout not in ("NCHW", "NHWC"):
                raise MXNetError("Only supports 'NCHW' and 'NHWC' layout for now")
            if isinstance(kernel_size, numeric_types):
                kernel_size = (kernel_size,) * 2
            kernel_size = tuple(kernel_size)
            n = len(kernel_size)

            def spread(v: Any) -> tuple:
                return (v,) * n if isinstance(v, numeric_types) else tuple(v)

            strides, padding, dilation = spread(strides), spread(padding), spread(dilation)
            self._op_name = op_name or type(self).__name__
            positions = num_deformable_group * kernel_size[0] * kernel_size[1]
            self._split = 2 * positions  # where the modulated layer's masks start
            # Keys in MXNet's order: they become the nodes' attributes, in this order.
            self._kwargs_offset = {"kernel": kernel_size, "stride": strides,
                                   "dilate": dilation, "pad": padding,
                                   "num_filter": self._offset_factor * positions,
                                   "num_group": groups, "no_bias": not offset_use_bias,
                                   "layout": layout}
            self._kwargs_deformable_conv = {"kernel": kernel_size, "stride": strides,
                                            "dilate": dilation, "pad": padding,
                                            "num_filter": channels, "num_group": groups,
                                            "num_deformable_group": num_deformable_group,
                                            "no_bias": not use_bias, "layout": layout}
            if adj:
                self._kwargs_offset["adj"] = adj
                self._kwargs_deformable_conv["adj"] = adj
            dshape = [0] * (n + 2)
            dshape[layout.find("N")] = 1
            dshape[layout.find("C")] = in_channels
            offset = symbol.Convolution(symbol.var("data", shape=dshape), **self._kwargs_offset)
            offset_shapes = offset.infer_shape_partial()[0]
            weight_shape = [0] * (n + 2)
            weight_shape[0] = channels
            weight_shape[2], weight_shape[3] = kernel_size[0], kernel_size[1]
            self._make_params(offset_shapes, weight_shape, offset_use_bias, use_bias,
                              offset_weight_initializer, offset_bias_initializer,
                              weight_initializer, bias_initializer, channels)
            self.act = Activation(activation, prefix=activation + "_") if activation else None

    def _make_params(self, offset_shapes: list, weight_shape: list, offset_use_bias: bool,
                     use_bias: bool, offset_weight_init: Any, offset_bias_init: Any,
                     weight_init: Any, bias_init: Any, channels: int) -> None:
        # MXNet creates the offset parameters first in DeformableConvolution and last in
        # ModulatedDeformableConvolution; the order shows in collect_params().
        self._offset_params(offset_shapes, offset_use_bias, offset_weight_init,
                            offset_bias_init)
        self._conv_params(weight_shape, use_bias, weight_init, bias_init, channels)

    def _offset_params(self, shapes: list, use_bias: bool, weight_init: Any,
                       bias_init: Any) -> None:
        self.offset_weight = self.params.get("offset_weight", shape=shapes[1], init=weight_init,
                                             allow_deferred_init=True)
        self.offset_bias = self.params.get("offset_bias", shape=shapes[2], init=bias_init,
                                           allow_deferred_init=True) if use_bias else None

    def _conv_params(self, weight_shape: list, use_bias: bool, weight_init: Any,
                     bias_init: Any, channels: int) -> None:
        self.deformable_conv_weight = self.params.get(
            "deformable_conv_weight", shape=weight_shape, init=weight_init,
            allow_deferred_init=True)
        self.deformable_conv_bias = self.params.get(
            "deformable_conv_bias", shape=(channels,), init=bias_init,
            allow_deferred_init=True) if use_bias else None

    def _offset(self, F: Any, x: Any, offset_weight: Any, offset_bias: Any) -> Any:  # noqa: N803
        if offset_bias is None:
            return F.Convolution(x, offset_weight, cudnn_off=True, **self._kwargs_offset)
        return F.Convolution(x, offset_weight, offset_bias, cudnn_off=True,
                             **self._kwargs_offset)

    def _activate(self, act: Any) -> Any:
        return self.act(act) if self.act else act


class DeformableConvolution(_DeformableBase):
    """2-D deformable convolution: a convolution whose sampling positions are shifted by
    offsets a second convolution computes from the input (parameters: see
    ``_DeformableBase``; ``offset_weight`` / ``offset_bias`` start at zero)."""

    def hybrid_forward(self, F: Any, x: Any, offset_weight: Any,  # noqa: N803
                       deformable_conv_weight: Any, offset_bias: Any = None,
                       deformable_conv_bias: Any = None) -> Any:
        offset = self._offset(F, x, offset_weight, offset_bias)
        extra = {} if deformable_conv_bias is None else {"bias": deformable_conv_bias}
        act = F.contrib.DeformableConvolution(data=x, offset=offset,
                                              weight=deformable_conv_weight, name="fwd",
                                              **extra, **self._kwargs_deformable_conv)
        return self._activate(act)

    def _alias(self) -> str:
        return "deformable_conv"

    def __repr__(self) -> str:
        # The modulated layer keeps Block's default repr, as in MXNet.
        kw = self._kwargs_deformable_conv
        n = len(kw["kernel"])
        s = "{name}({mapping}, kernel_size={kernel}, stride={stride}"
        if kw["pad"] != (0,) * n:
            s += ", padding={pad}"
        if kw["dilate"] != (1,) * n:
            s += ", dilation={dilate}"
        if kw["num_group"] != 1:
            s += ", groups={num_group}"
        if self.deformable_conv_bias is None:
            s += ", bias=False"
        if self.act:
            s += f", {self.act}"
        s += ")"
        shape = self.deformable_conv_weight.shape
        return s.format(name=self.__class__.__name__,
                        mapping=f"{shape[1] if shape[1] else None} -> {shape[0]}", **kw)


class ModulatedDeformableConvolution(_DeformableBase):
    """2-D modulated deformable convolution (v2): the offset convolution also computes a mask
    per sampling position, ``2 * sigmoid(m)``, that scales each sample (parameters: see
    ``_DeformableBase``)."""

    _offset_factor = 3

    @property
    def offset_split_index(self) -> int:
        """Where the masks start among the offset convolution's output channels."""
        return self._split

    def _make_params(self, offset_shapes: list, weight_shape: list, offset_use_bias: bool,
                     use_bias: bool, offset_weight_init: Any, offset_bias_init: Any,
                     weight_init: Any, bias_init: Any, channels: int) -> None:
        self._conv_params(weight_shape, use_bias, weight_init, bias_init, channels)
        self._offset_params(offset_shapes, offset_use_bias, offset_weight_init,
                            offset_bias_init)

    def hybrid_forward(self, F: Any, x: Any, offset_weight: Any,  # noqa: N803
                       deformable_conv_weight: Any, offset_bias: Any = None,
                       deformable_conv_bias: Any = None) -> Any:
        offset = self._offset(F, x, offset_weight, offset_bias)
        offset_t = F.slice_axis(offset, axis=1, begin=0, end=self._split)
        mask = F.sigmoid(F.slice_axis(offset, axis=1, begin=self._split, end=None)) * 2
        extra = {} if deformable_conv_bias is None else {"bias": deformable_conv_bias}
        act = F.contrib.ModulatedDeformableConvolution(
            data=x, offset=offset_t, mask=mask, weight=deformable_conv_weight, name="fwd",
            **extra, **self._kwargs_deformable_conv)
        return self._activate(act)

    def _alias(self) -> str:
        return "modulated_deformable_conv"
