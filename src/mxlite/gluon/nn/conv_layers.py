"""Convolution, pooling and padding layers (``mx.gluon.nn``): MXNet 1.9.1's
``gluon/nn/conv_layers.py``.

Each layer is one registry operator (``Convolution``, ``Deconvolution``, ``Pooling``, ``pad``)
called through ``F``. Weight shapes come from the operator's own shape inference on a data
shape with unknown dims (as MXNet does), so a layer built without ``in_channels`` defers its
weight until the first forward. Parameter names, defaults and ``repr`` strings are MXNet's,
including two of its quirks: the transposed layers' ``repr`` never shows ``output_padding``
(MXNet stores it as ``outpad`` but looks for ``out_pad``), and before deferred initialisation
their ``repr`` reads ``channels -> 0``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import symbol
from ...base import MXNetError
from ..block import HybridBlock
from .activations import Activation

__all__ = ["Conv1D", "Conv2D", "Conv3D",
           "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
           "MaxPool1D", "MaxPool2D", "MaxPool3D",
           "AvgPool1D", "AvgPool2D", "AvgPool3D",
           "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
           "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D",
           "ReflectionPad2D"]

_NUMERIC = (int, float, np.generic)  # MXNet's base.numeric_types


def _infer_weight_shape(op_name: str, data_shape: list[int], kwargs: dict[str, Any]
                        ) -> list[tuple]:
    data = symbol.var("data", shape=data_shape)
    out = getattr(symbol, op_name)(data, **kwargs)
    return out.infer_shape_partial()[0]


def _check_layout(cls: str, layout: str, allowed: tuple[str, ...], what: str) -> None:
    if layout not in allowed:
        raise MXNetError(f"{cls}: layout {layout!r} is not supported; {what} takes "
                         f"{' or '.join(repr(a) for a in allowed)}")


def _tuple_arg(cls: str, arg: str, value: Any, n: int) -> Any:
    """An int for all ``n`` spatial dims, or a sequence of ``n`` ints (kept as given: MXNet's
    ``repr`` shows the user's list or tuple)."""
    if isinstance(value, _NUMERIC):
        return (value,) * n
    if not hasattr(value, "__len__") or len(value) != n:
        raise MXNetError(f"{cls}: {arg} must be a number or a list of {n} ints, got {value!r}")
    return value


class _Conv(HybridBlock):
    """What the convolution and transposed-convolution layers share (MXNet's private base).

    Parameters
    ----------
    channels : int
        The dimensionality of the output space, i.e. the number of output channels.
    kernel_size : tuple of n ints
        The dimensions of the convolution window.
    strides, padding, dilation : int or tuple of n ints
        Strides, implicit zero padding on both sides, and dilation of the window.
    groups : int
        Number of groups the input and output channels are split into.
    layout : str
        Dimension ordering of data and weight ('NCW', 'NCHW', 'NHWC', 'NCDHW', ...).
    in_channels : int, default 0
        Input channels; 0 defers the weight's initialisation to the first forward.
    activation : str
        Activation function applied to the output (see :class:`Activation`), or None.
    use_bias : bool
        Whether the layer uses a bias vector.
    weight_initializer, bias_initializer : str or `Initializer`
        Initializers of the weight and the bias.
    op_name : str
        ``'Convolution'`` or ``'Deconvolution'``.
    adj : tuple of n ints or None
        Deconvolution's output padding.
    """

    def __init__(self, channels: int, kernel_size: Any, strides: Any, padding: Any,
                 dilation: Any, groups: int, layout: str, in_channels: int = 0,
                 activation: str | None = None, use_bias: bool = True,
                 weight_initializer: Any = None, bias_initializer: Any = "zeros",
                 op_name: str = "Convolution", adj: Any = None, prefix: str | None = None,
                 params: Any = None) -> None:
        super().__init__(prefix=prefix, params=params)
        with self.name_scope():
            self._channels = channels
            self._in_channels = in_channels
            n = len(kernel_size)
            cls = self.__class__.__name__
            strides = _tuple_arg(cls, "strides", strides, n)
            padding = _tuple_arg(cls, "padding", padding, n)
            dilation = _tuple_arg(cls, "dilation", dilation, n)
            self._op_name = op_name
            self._kwargs = {
                "kernel": kernel_size, "stride": strides, "dilate": dilation,
                "pad": padding, "num_filter": channels, "num_group": groups,
                "no_bias": not use_bias, "layout": layout}
            if adj is not None:
                self._kwargs["adj"] = adj
            dshape = [0] * (n + 2)
            dshape[layout.find("N")] = 1
            dshape[layout.find("C")] = in_channels
            wshapes = _infer_weight_shape(op_name, dshape, self._kwargs)
            self.weight = self.params.get("weight", shape=wshapes[1], init=weight_initializer,
                                          allow_deferred_init=True)
            if use_bias:
                self.bias = self.params.get("bias", shape=wshapes[2], init=bias_initializer,
                                            allow_deferred_init=True)
            else:
                self.bias = None
            if activation is not None:
                self.act = Activation(activation, prefix=activation + "_")
            else:
                self.act = None

    def hybrid_forward(self, F: Any, x: Any, weight: Any, bias: Any = None) -> Any:
        op = getattr(F, self._op_name)
        if bias is None:
            act = op(x, weight, name="fwd", **self._kwargs)
        else:
            act = op(x, weight, bias, name="fwd", **self._kwargs)
        if self.act is not None:
            act = self.act(act)
        return act

    def _alias(self) -> str:
        return "conv"

    def __repr__(self) -> str:
        k = self._kwargs
        n = len(k["kernel"])
        shape = self.weight.shape
        mapping = f"{shape[1] if shape[1] else None} -> {shape[0]}"
        s = f"{self.__class__.__name__}({mapping}, kernel_size={k['kernel']}, " \
            f"stride={k['stride']}"
        if k["pad"] != (0,) * n:
            s += f", padding={k['pad']}"
        if k["dilate"] != (1,) * n:
            s += f", dilation={k['dilate']}"
        # MXNet tests for 'out_pad' but the transposed layers set 'outpad': never shown.
        out_pad = getattr(self, "out_pad", None)
        if out_pad is not None and out_pad != (0,) * n:
            s += f", output_padding={out_pad}"
        if k["num_group"] != 1:
            s += f", groups={k['num_group']}"
        if self.bias is None:
            s += ", bias=False"
        if self.act:
            s += f", {self.act}"
        return s + ")"


class Conv1D(_Conv):
    r"""1D convolution layer (e.g. temporal convolution).

    Parameters
    ----------
    channels : int
        The dimensionality of the output space, i.e. the number of output
        channels (filters) in the convolution.
    kernel_size :int or tuple/list of 1 int
        Specifies the dimensions of the convolution window.
    strides : int or tuple/list of 1 int,
        Specify the strides of the convolution.
    padding : int or a tuple/list of 1 int,
        If padding is non-zero, then the input is implicitly zero-padded
        on both sides for padding number of points
    dilation : int or tuple/list of 1 int
        Specifies the dilation rate to use for dilated convolution.
    groups : int
        Controls the connections between inputs and outputs.
    layout: str, default 'NCW'
        Dimension ordering of data and weight. Only supports 'NCW' layout for now.
    in_channels : int, default 0
        The number of input channels to this layer. If not specified,
        initialization will be deferred to the first time `forward` is called
        and `in_channels` will be inferred from the shape of input data.
    activation : str
        Activation function to use. See :func:`~mxnet.ndarray.Activation`.
        If you don't specify anything, no activation is applied
        (ie. "linear" activation: `a(x) = x`).
    use_bias : bool
        Whether the layer uses a bias vector.
    weight_initializer : str or `Initializer`
        Initializer for the `weight` weights matrix.
    bias_initializer : str or `Initializer`
        Initializer for the bias vector.

    Inputs:
        - **data**: 3D input tensor with shape `(batch_size, in_channels, width)`.

    Outputs:
        - **out**: 3D output tensor with shape `(batch_size, channels, out_width)`, with
          ``out_width = floor((width+2*padding-dilation*(kernel_size-1)-1)/stride)+1``.
    """

    def __init__(self, channels: int, kernel_size: Any, strides: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, layout: str = "NCW",
                 activation: str | None = None, use_bias: bool = True,
                 weight_initializer: Any = None, bias_initializer: Any = "zeros",
                 in_channels: int = 0, **kwargs: Any) -> None:
        _check_layout("Conv1D", layout, ("NCW",), "Conv1D")
        kernel_size = _tuple_arg("Conv1D", "kernel_size", kernel_size, 1)
        op_name = kwargs.pop("op_name", "Convolution")
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, op_name, **kwargs)


class Conv2D(_Conv):
    r"""2D convolution layer (e.g. spatial convolution over images).

    Parameters
    ----------
    channels : int
        The dimensionality of the output space, i.e. the number of output
        channels (filters) in the convolution.
    kernel_size :int or tuple/list of 2 int
        Specifies the dimensions of the convolution window.
    strides : int or tuple/list of 2 int,
        Specify the strides of the convolution.
    padding : int or a tuple/list of 2 int,
        If padding is non-zero, then the input is implicitly zero-padded
        on both sides for padding number of points
    dilation : int or tuple/list of 2 int
        Specifies the dilation rate to use for dilated convolution.
    groups : int
        Controls the connections between inputs and outputs.
    layout : str, default 'NCHW'
        Dimension ordering of data and weight: 'NCHW' or 'NHWC'.
    in_channels : int, default 0
        The number of input channels to this layer. If not specified,
        initialization will be deferred to the first time `forward` is called
        and `in_channels` will be inferred from the shape of input data.
    activation : str
        Activation function to use (see :class:`Activation`), or None for linear.
    use_bias : bool
        Whether the layer uses a bias vector.
    weight_initializer : str or `Initializer`
        Initializer for the `weight` weights matrix.
    bias_initializer : str or `Initializer`
        Initializer for the bias vector.

    Inputs:
        - **data**: 4D input tensor with shape `(batch_size, in_channels, height, width)`
          when `layout` is `NCHW`.

    Outputs:
        - **out**: 4D output tensor with shape `(batch_size, channels, out_height, out_width)`
          when `layout` is `NCHW`.
    """

    def __init__(self, channels: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: Any = (0, 0), dilation: Any = (1, 1), groups: int = 1,
                 layout: str = "NCHW", activation: str | None = None, use_bias: bool = True,
                 weight_initializer: Any = None, bias_initializer: Any = "zeros",
                 in_channels: int = 0, **kwargs: Any) -> None:
        _check_layout("Conv2D", layout, ("NCHW", "NHWC"), "Conv2D")
        kernel_size = _tuple_arg("Conv2D", "kernel_size", kernel_size, 2)
        op_name = kwargs.pop("op_name", "Convolution")
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, op_name, **kwargs)


class Conv3D(_Conv):
    """3D convolution layer (e.g. spatial convolution over volumes).

    Parameters
    ----------
    channels : int
        The dimensionality of the output space, i.e. the number of output
        channels (filters) in the convolution.
    kernel_size :int or tuple/list of 3 int
        Specifies the dimensions of the convolution window.
    strides : int or tuple/list of 3 int,
        Specify the strides of the convolution.
    padding : int or a tuple/list of 3 int,
        If padding is non-zero, then the input is implicitly zero-padded
        on both sides for padding number of points
    dilation : int or tuple/list of 3 int
        Specifies the dilation rate to use for dilated convolution.
    groups : int
        Controls the connections between inputs and outputs.
    layout : str, default 'NCDHW'
        Dimension ordering of data and weight: 'NCDHW' or 'NDHWC'.
    in_channels : int, default 0
        The number of input channels to this layer. If not specified,
        initialization will be deferred to the first time `forward` is called
        and `in_channels` will be inferred from the shape of input data.
    activation : str
        Activation function to use (see :class:`Activation`), or None for linear.
    use_bias : bool
        Whether the layer uses a bias vector.
    weight_initializer : str or `Initializer`
        Initializer for the `weight` weights matrix.
    bias_initializer : str or `Initializer`
        Initializer for the bias vector.

    Inputs:
        - **data**: 5D input tensor with shape `(batch_size, in_channels, depth, height,
          width)` when `layout` is `NCDHW`.

    Outputs:
        - **out**: 5D output tensor with shape `(batch_size, channels, out_depth, out_height,
          out_width)` when `layout` is `NCDHW`.
    """

    def __init__(self, channels: int, kernel_size: Any, strides: Any = (1, 1, 1),
                 padding: Any = (0, 0, 0), dilation: Any = (1, 1, 1), groups: int = 1,
                 layout: str = "NCDHW", activation: str | None = None, use_bias: bool = True,
                 weight_initializer: Any = None, bias_initializer: Any = "zeros",
                 in_channels: int = 0, **kwargs: Any) -> None:
        _check_layout("Conv3D", layout, ("NCDHW", "NDHWC"), "Conv3D")
        kernel_size = _tuple_arg("Conv3D", "kernel_size", kernel_size, 3)
        op_name = kwargs.pop("op_name", "Convolution")
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, op_name, **kwargs)


class _ConvTranspose(_Conv):
    """The transposed (Deconvolution) layers: ``output_padding`` becomes the operator's
    ``adj``."""

    _NDIM = 0
    _LAYOUTS: tuple[str, ...] = ()

    def __init__(self, channels: int, kernel_size: Any, strides: Any, padding: Any,
                 output_padding: Any, dilation: Any, groups: int, layout: str,
                 activation: str | None, use_bias: bool, weight_initializer: Any,
                 bias_initializer: Any, in_channels: int, **kwargs: Any) -> None:
        cls = self.__class__.__name__
        _check_layout(cls, layout, self._LAYOUTS, cls)
        kernel_size = _tuple_arg(cls, "kernel_size", kernel_size, self._NDIM)
        output_padding = _tuple_arg(cls, "output_padding", output_padding, self._NDIM)
        op_name = kwargs.pop("op_name", "Deconvolution")
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, op_name=op_name, adj=output_padding, **kwargs)
        self.outpad = output_padding


class Conv1DTranspose(_ConvTranspose):
    """Transposed 1D convolution layer (sometimes called Deconvolution).

    Parameters
    ----------
    channels : int
        The dimensionality of the output space, i.e. the number of output channels.
    kernel_size :int or tuple/list of 1 int
        Specifies the dimensions of the convolution window.
    strides : int or tuple/list of 1 int
        Specify the strides of the convolution.
    padding : int or a tuple/list of 1 int,
        Implicit zero padding removed from both sides of the output.
    output_padding: int or a tuple/list of 1 int
        Controls the amount of implicit zero-paddings on both sides of the
        output for output_padding number of points for each dimension.
    dilation : int or tuple/list of 1 int
        Controls the spacing between the kernel points; also known as the
        a trous algorithm
    groups : int
        Controls the connections between inputs and outputs.
    layout : str, default 'NCW'
        Dimension ordering of data and weight. Only supports 'NCW' layout for now.
    in_channels : int, default 0
        The number of input channels to this layer. If not specified,
        initialization will be deferred to the first time `forward` is called
        and `in_channels` will be inferred from the shape of input data.
    activation : str
        Activation function to use (see :class:`Activation`), or None for linear.
    use_bias : bool
        Whether the layer uses a bias vector.
    weight_initializer : str or `Initializer`
        Initializer for the `weight` weights matrix.
    bias_initializer : str or `Initializer`
        Initializer for the bias vector.

    Inputs:
        - **data**: 3D input tensor with shape `(batch_size, in_channels, width)`.

    Outputs:
        - **out**: 3D output tensor with shape `(batch_size, channels, out_width)`, with
          ``out_width = (width-1)*strides-2*padding+kernel_size+output_padding``.
    """

    _NDIM = 1
    _LAYOUTS = ("NCW",)

    def __init__(self, channels: int, kernel_size: Any, strides: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, dilation: Any = 1, groups: int = 1,
                 layout: str = "NCW", activation: str | None = None, use_bias: bool = True,
                 weight_initializer: Any = None, bias_initializer: Any = "zeros",
                 in_channels: int = 0, **kwargs: Any) -> None:
        super().__init__(channels, kernel_size, strides, padding, output_padding, dilation,
                         groups, layout, activation, use_bias, weight_initializer,
                         bias_initializer, in_channels, **kwargs)


class Conv2DTranspose(_ConvTranspose):
    """Transposed 2D convolution layer (sometimes called Deconvolution).

    Parameters
    ----------
    channels : int
        The dimensionality of the output space, i.e. the number of output channels.
    kernel_size :int or tuple/list of 2 int
        Specifies the dimensions of the convolution window.
    strides : int or tuple/list of 2 int
        Specify the strides of the convolution.
    padding : int or a tuple/list of 2 int,
        Implicit zero padding removed from both sides of the output.
    output_padding: int or a tuple/list of 2 int
        Controls the amount of implicit zero-paddings on both sides of the
        output for output_padding number of points for each dimension.
    dilation : int or tuple/list of 2 int
        Controls the spacing between the kernel points.
    groups : int
        Controls the connections between inputs and outputs.
    layout : str, default 'NCHW'
        Dimension ordering of data and weight: 'NCHW' or 'NHWC'.
    in_channels : int, default 0
        The number of input channels to this layer. If not specified,
        initialization will be deferred to the first time `forward` is called
        and `in_channels` will be inferred from the shape of input data.
    activation : str
        Activation function to use (see :class:`Activation`), or None for linear.
    use_bias : bool
        Whether the layer uses a bias vector.
    weight_initializer : str or `Initializer`
        Initializer for the `weight` weights matrix.
    bias_initializer : str or `Initializer`
        Initializer for the bias vector.

    Inputs:
        - **data**: 4D input tensor with shape `(batch_size, in_channels, height, width)`
          when `layout` is `NCHW`.

    Outputs:
        - **out**: 4D output tensor with shape `(batch_size, channels, out_height, out_width)`
          with ``out_height = (height-1)*strides[0]-2*padding[0]+kernel_size[0]+
          output_padding[0]`` and likewise for the width.
    """

    _NDIM = 2
    _LAYOUTS = ("NCHW", "NHWC")

    def __init__(self, channels: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: Any = (0, 0), output_padding: Any = (0, 0),
                 dilation: Any = (1, 1), groups: int = 1, layout: str = "NCHW",
                 activation: str | None = None, use_bias: bool = True,
                 weight_initializer: Any = None, bias_initializer: Any = "zeros",
                 in_channels: int = 0, **kwargs: Any) -> None:
        super().__init__(channels, kernel_size, strides, padding, output_padding, dilation,
                         groups, layout, activation, use_bias, weight_initializer,
                         bias_initializer, in_channels, **kwargs)


class Conv3DTranspose(_ConvTranspose):
    """Transposed 3D convolution layer (sometimes called Deconvolution).

    Parameters
    ----------
    channels : int
        The dimensionality of the output space, i.e. the number of output channels.
    kernel_size :int or tuple/list of 3 int
        Specifies the dimensions of the convolution window.
    strides : int or tuple/list of 3 int
        Specify the strides of the convolution.
    padding : int or a tuple/list of 3 int,
        Implicit zero padding removed from both sides of the output.
    output_padding: int or a tuple/list of 3 int
        Controls the amount of implicit zero-paddings on both sides of the
        output for output_padding number of points for each dimension.
    dilation : int or tuple/list of 3 int
        Controls the spacing between the kernel points.
    groups : int
        Controls the connections between inputs and outputs.
    layout : str, default 'NCDHW'
        Dimension ordering of data and weight: 'NCDHW' or 'NDHWC'.
    in_channels : int, default 0
        The number of input channels to this layer. If not specified,
        initialization will be deferred to the first time `forward` is called
        and `in_channels` will be inferred from the shape of input data.
    activation : str
        Activation function to use (see :class:`Activation`), or None for linear.
    use_bias : bool
        Whether the layer uses a bias vector.
    weight_initializer : str or `Initializer`
        Initializer for the `weight` weights matrix.
    bias_initializer : str or `Initializer`
        Initializer for the bias vector.

    Inputs:
        - **data**: 5D input tensor with shape `(batch_size, in_channels, depth, height,
          width)` when `layout` is `NCDHW`.

    Outputs:
        - **out**: 5D output tensor with shape `(batch_size, channels, out_depth, out_height,
          out_width)` when `layout` is `NCDHW`.
    """

    _NDIM = 3
    _LAYOUTS = ("NCDHW", "NDHWC")

    def __init__(self, channels: int, kernel_size: Any, strides: Any = (1, 1, 1),
                 padding: Any = (0, 0, 0), output_padding: Any = (0, 0, 0),
                 dilation: Any = (1, 1, 1), groups: int = 1, layout: str = "NCDHW",
                 activation: str | None = None, use_bias: bool = True,
                 weight_initializer: Any = None, bias_initializer: Any = "zeros",
                 in_channels: int = 0, **kwargs: Any) -> None:
        super().__init__(channels, kernel_size, strides, padding, output_padding, dilation,
                         groups, layout, activation, use_bias, weight_initializer,
                         bias_initializer, in_channels, **kwargs)


class _Pooling(HybridBlock):
    """What the pooling layers share: one ``Pooling`` operator call.

    ``ceil_mode`` is the operator's ``pooling_convention='full'``; ``strides=None`` means
    ``pool_size``; ``count_include_pad`` is passed only by the average poolings.
    """

    def __init__(self, pool_size: tuple, strides: Any, padding: Any, ceil_mode: bool,
                 global_pool: bool, pool_type: str, layout: str,
                 count_include_pad: bool | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if strides is None:
            strides = pool_size
        n = len(pool_size)
        cls = self.__class__.__name__
        strides = _tuple_arg(cls, "strides", strides, n)
        padding = _tuple_arg(cls, "padding", padding, n)
        self._kwargs = {
            "kernel": pool_size, "stride": strides, "pad": padding,
            "global_pool": global_pool, "pool_type": pool_type, "layout": layout,
            "pooling_convention": "full" if ceil_mode else "valid"}
        if count_include_pad is not None:
            self._kwargs["count_include_pad"] = count_include_pad

    def _alias(self) -> str:
        return "pool"

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        return F.Pooling(x, name="fwd", **self._kwargs)

    def __repr__(self) -> str:
        k = self._kwargs
        return (f"{self.__class__.__name__}(size={k['kernel']}, stride={k['stride']}, "
                f"padding={k['pad']}, ceil_mode={k['pooling_convention'] == 'full'}, "
                f"global_pool={k['global_pool']}, pool_type={k['pool_type']}, "
                f"layout={k['layout']})")


_LAYOUTS_BY_DIM = {1: ("NCW", "NWC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}


def _pool_args(cls: str, ndim: int, pool_size: Any, layout: str) -> tuple:
    _check_layout(cls, layout, _LAYOUTS_BY_DIM[ndim], f"{ndim}D Pooling")
    return _tuple_arg(cls, "pool_size", pool_size, ndim)


class MaxPool1D(_Pooling):
    """Max pooling operation for one dimensional data.

    Parameters
    ----------
    pool_size: int
        Size of the max pooling windows.
    strides: int, or None
        Factor by which to downscale. E.g. 2 will halve the input size.
        If `None`, it will default to `pool_size`.
    padding: int
        If padding is non-zero, then the input is implicitly
        zero-padded on both sides for padding number of points.
    layout : str, default 'NCW'
        Dimension ordering of data and out ('NCW' or 'NWC').
    ceil_mode : bool, default False
        When `True`, will use ceil instead of floor to compute the output shape.

    Inputs:
        - **data**: 3D input tensor with shape `(batch_size, in_channels, width)`
          when `layout` is `NCW`.

    Outputs:
        - **out**: 3D output tensor with shape `(batch_size, channels, out_width)`, with
          ``out_width = floor((width+2*padding-pool_size)/strides)+1`` (ceil in ceil_mode).
    """

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: Any = 0,
                 layout: str = "NCW", ceil_mode: bool = False, **kwargs: Any) -> None:
        pool_size = _pool_args("MaxPool1D", 1, pool_size, layout)
        super().__init__(pool_size, strides, padding, ceil_mode, False, "max", layout,
                         **kwargs)


class MaxPool2D(_Pooling):
    """Max pooling operation for two dimensional (spatial) data.

    Parameters
    ----------
    pool_size: int or list/tuple of 2 ints,
        Size of the max pooling windows.
    strides: int, list/tuple of 2 ints, or None.
        Factor by which to downscale. E.g. 2 will halve the input size.
        If `None`, it will default to `pool_size`.
    padding: int or list/tuple of 2 ints,
        If padding is non-zero, then the input is implicitly
        zero-padded on both sides for padding number of points.
    layout : str, default 'NCHW'
        Dimension ordering of data and out ('NCHW' or 'NHWC').
    ceil_mode : bool, default False
        When `True`, will use ceil instead of floor to compute the output shape.

    Inputs:
        - **data**: 4D input tensor with shape `(batch_size, in_channels, height, width)`
          when `layout` is `NCHW`.

    Outputs:
        - **out**: 4D output tensor with shape `(batch_size, channels, out_height, out_width)`
          when `layout` is `NCHW`.
    """

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: Any = 0,
                 layout: str = "NCHW", ceil_mode: bool = False, **kwargs: Any) -> None:
        pool_size = _pool_args("MaxPool2D", 2, pool_size, layout)
        super().__init__(pool_size, strides, padding, ceil_mode, False, "max", layout,
                         **kwargs)


class MaxPool3D(_Pooling):
    """Max pooling operation for 3D data (spatial or spatio-temporal).

    Parameters
    ----------
    pool_size: int or list/tuple of 3 ints,
        Size of the max pooling windows.
    strides: int, list/tuple of 3 ints, or None.
        Factor by which to downscale. E.g. 2 will halve the input size.
        If `None`, it will default to `pool_size`.
    padding: int or list/tuple of 3 ints,
        If padding is non-zero, then the input is implicitly
        zero-padded on both sides for padding number of points.
    ceil_mode : bool, default False
        When `True`, will use ceil instead of floor to compute the output shape.
    layout : str, default 'NCDHW'
        Dimension ordering of data and out ('NCDHW' or 'NDHWC').

    Inputs:
        - **data**: 5D input tensor with shape `(batch_size, in_channels, depth, height,
          width)` when `layout` is `NCDHW`.

    Outputs:
        - **out**: 5D output tensor with shape `(batch_size, channels, out_depth, out_height,
          out_width)` when `layout` is `NCDHW`.
    """

    def __init__(self, pool_size: Any = (2, 2, 2), strides: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, layout: str = "NCDHW", **kwargs: Any) -> None:
        pool_size = _pool_args("MaxPool3D", 3, pool_size, layout)
        super().__init__(pool_size, strides, padding, ceil_mode, False, "max", layout,
                         **kwargs)


class AvgPool1D(_Pooling):
    """Average pooling operation for temporal data.

    Parameters
    ----------
    pool_size: int
        Size of the average pooling windows.
    strides: int, or None
        Factor by which to downscale. E.g. 2 will halve the input size.
        If `None`, it will default to `pool_size`.
    padding: int
        If padding is non-zero, then the input is implicitly
        zero-padded on both sides for padding number of points.
    layout : str, default 'NCW'
        Dimension ordering of data and out ('NCW' or 'NWC').
    ceil_mode : bool, default False
        When `True`, will use ceil instead of floor to compute the output shape.
    count_include_pad : bool, default True
        When 'False', will exclude padding elements when computing the average value.

    Inputs:
        - **data**: 3D input tensor with shape `(batch_size, in_channels, width)`
          when `layout` is `NCW`.

    Outputs:
        - **out**: 3D output tensor with shape `(batch_size, channels, out_width)`.
    """

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: Any = 0,
                 layout: str = "NCW", ceil_mode: bool = False, count_include_pad: bool = True,
                 **kwargs: Any) -> None:
        pool_size = _pool_args("AvgPool1D", 1, pool_size, layout)
        super().__init__(pool_size, strides, padding, ceil_mode, False, "avg", layout,
                         count_include_pad, **kwargs)


class AvgPool2D(_Pooling):
    """Average pooling operation for spatial data.

    Parameters
    ----------
    pool_size: int or list/tuple of 2 ints,
        Size of the average pooling windows.
    strides: int, list/tuple of 2 ints, or None.
        Factor by which to downscale. E.g. 2 will halve the input size.
        If `None`, it will default to `pool_size`.
    padding: int or list/tuple of 2 ints,
        If padding is non-zero, then the input is implicitly
        zero-padded on both sides for padding number of points.
    ceil_mode : bool, default False
        When True, will use ceil instead of floor to compute the output shape.
    layout : str, default 'NCHW'
        Dimension ordering of data and out ('NCHW' or 'NHWC').
    count_include_pad : bool, default True
        When 'False', will exclude padding elements when computing the average value.

    Inputs:
        - **data**: 4D input tensor with shape `(batch_size, in_channels, height, width)`
          when `layout` is `NCHW`.

    Outputs:
        - **out**: 4D output tensor with shape `(batch_size, channels, out_height, out_width)`
          when `layout` is `NCHW`.
    """

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, layout: str = "NCHW", count_include_pad: bool = True,
                 **kwargs: Any) -> None:
        pool_size = _pool_args("AvgPool2D", 2, pool_size, layout)
        super().__init__(pool_size, strides, padding, ceil_mode, False, "avg", layout,
                         count_include_pad, **kwargs)


class AvgPool3D(_Pooling):
    """Average pooling operation for 3D data (spatial or spatio-temporal).

    Parameters
    ----------
    pool_size: int or list/tuple of 3 ints,
        Size of the average pooling windows.
    strides: int, list/tuple of 3 ints, or None.
        Factor by which to downscale. E.g. 2 will halve the input size.
        If `None`, it will default to `pool_size`.
    padding: int or list/tuple of 3 ints,
        If padding is non-zero, then the input is implicitly
        zero-padded on both sides for padding number of points.
    ceil_mode : bool, default False
        When True, will use ceil instead of floor to compute the output shape.
    layout : str, default 'NCDHW'
        Dimension ordering of data and out ('NCDHW' or 'NDHWC').
    count_include_pad : bool, default True
        When 'False', will exclude padding elements when computing the average value.

    Inputs:
        - **data**: 5D input tensor with shape `(batch_size, in_channels, depth, height,
          width)` when `layout` is `NCDHW`.

    Outputs:
        - **out**: 5D output tensor with shape `(batch_size, channels, out_depth, out_height,
          out_width)` when `layout` is `NCDHW`.
    """

    def __init__(self, pool_size: Any = (2, 2, 2), strides: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, layout: str = "NCDHW",
                 count_include_pad: bool = True, **kwargs: Any) -> None:
        pool_size = _pool_args("AvgPool3D", 3, pool_size, layout)
        super().__init__(pool_size, strides, padding, ceil_mode, False, "avg", layout,
                         count_include_pad, **kwargs)


class _GlobalPooling(_Pooling):
    _NDIM = 0
    _POOL_TYPE = ""

    def __init__(self, layout: str, **kwargs: Any) -> None:
        _check_layout(self.__class__.__name__, layout, _LAYOUTS_BY_DIM[self._NDIM],
                      f"{self._NDIM}D Pooling")
        super().__init__((1,) * self._NDIM, None, 0, True, True, self._POOL_TYPE, layout,
                         **kwargs)


class GlobalMaxPool1D(_GlobalPooling):
    """Global max pooling operation for one dimensional (temporal) data.

    Parameters
    ----------
    layout : str, default 'NCW'
        Dimension ordering of data and out ('NCW' or 'NWC').

    Inputs:
        - **data**: 3D input tensor with shape `(batch_size, in_channels, width)`.

    Outputs:
        - **out**: 3D output tensor with shape `(batch_size, channels, 1)`.
    """

    _NDIM, _POOL_TYPE = 1, "max"

    def __init__(self, layout: str = "NCW", **kwargs: Any) -> None:
        super().__init__(layout, **kwargs)


class GlobalMaxPool2D(_GlobalPooling):
    """Global max pooling operation for two dimensional (spatial) data.

    Parameters
    ----------
    layout : str, default 'NCHW'
        Dimension ordering of data and out ('NCHW' or 'NHWC').

    Inputs:
        - **data**: 4D input tensor with shape `(batch_size, in_channels, height, width)`.

    Outputs:
        - **out**: 4D output tensor with shape `(batch_size, channels, 1, 1)`.
    """

    _NDIM, _POOL_TYPE = 2, "max"

    def __init__(self, layout: str = "NCHW", **kwargs: Any) -> None:
        super().__init__(layout, **kwargs)


class GlobalMaxPool3D(_GlobalPooling):
    """Global max pooling operation for 3D data (spatial or spatio-temporal).

    Parameters
    ----------
    layout : str, default 'NCDHW'
        Dimension ordering of data and out ('NCDHW' or 'NDHWC').

    Inputs:
        - **data**: 5D input tensor with shape `(batch_size, in_channels, depth, height,
          width)`.

    Outputs:
        - **out**: 5D output tensor with shape `(batch_size, channels, 1, 1, 1)`.
    """

    _NDIM, _POOL_TYPE = 3, "max"

    def __init__(self, layout: str = "NCDHW", **kwargs: Any) -> None:
        super().__init__(layout, **kwargs)


class GlobalAvgPool1D(_GlobalPooling):
    """Global average pooling operation for temporal data.

    Parameters
    ----------
    layout : str, default 'NCW'
        Dimension ordering of data and out ('NCW' or 'NWC').

    Inputs:
        - **data**: 3D input tensor with shape `(batch_size, in_channels, width)`.

    Outputs:
        - **out**: 3D output tensor with shape `(batch_size, channels, 1)`.
    """

    _NDIM, _POOL_TYPE = 1, "avg"

    def __init__(self, layout: str = "NCW", **kwargs: Any) -> None:
        super().__init__(layout, **kwargs)


class GlobalAvgPool2D(_GlobalPooling):
    """Global average pooling operation for spatial data.

    Parameters
    ----------
    layout : str, default 'NCHW'
        Dimension ordering of data and out ('NCHW' or 'NHWC').

    Inputs:
        - **data**: 4D input tensor with shape `(batch_size, in_channels, height, width)`.

    Outputs:
        - **out**: 4D output tensor with shape `(batch_size, channels, 1, 1)`.
    """

    _NDIM, _POOL_TYPE = 2, "avg"

    def __init__(self, layout: str = "NCHW", **kwargs: Any) -> None:
        super().__init__(layout, **kwargs)


class GlobalAvgPool3D(_GlobalPooling):
    """Global average pooling operation for 3D data (spatial or spatio-temporal).

    Parameters
    ----------
    layout : str, default 'NCDHW'
        Dimension ordering of data and out ('NCDHW' or 'NDHWC').

    Inputs:
        - **data**: 5D input tensor with shape `(batch_size, in_channels, depth, height,
          width)`.

    Outputs:
        - **out**: 5D output tensor with shape `(batch_size, channels, 1, 1, 1)`.
    """

    _NDIM, _POOL_TYPE = 3, "avg"

    def __init__(self, layout: str = "NCDHW", **kwargs: Any) -> None:
        super().__init__(layout, **kwargs)


class ReflectionPad2D(HybridBlock):
    r"""Pads the input tensor using the reflection of the input boundary.

    Parameters
    ----------
    padding: int or tuple of 8 ints
        An integer padding size for both sides of H and W, or the operator's full
        ``pad_width`` (two entries per axis of the 4D input).

    Inputs:
        - **data**: input tensor with the shape :math:`(N, C, H_{in}, W_{in})`.

    Outputs:
        - **out**: output tensor with the shape :math:`(N, C, H_{in} + 2 padding,
          W_{in} + 2 padding)`.
    """

    def __init__(self, padding: Any = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(padding, _NUMERIC):
            padding = (0, 0, 0, 0, padding, padding, padding, padding)
        if len(padding) != 8:
            raise MXNetError(f"ReflectionPad2D: padding must be an int or 8 ints "
                             f"(pad_width of a 4D input), got {padding!r}")
        self._padding = padding

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        return F.pad(x, mode="reflect", pad_width=self._padding)
