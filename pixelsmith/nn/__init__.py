"""CNN building blocks (CNNs 101): layers, activations, pooling, filtering, and accounting.

* :mod:`~pixelsmith.nn.layers`: ``FullyConnected``, ``LocallyConnected2d``, ``Maxout``,
  ``MaxoutConv2d``, ``max_pool2d``, ``avg_pool2d``
* :mod:`~pixelsmith.nn.activations`: sigmoid, tanh, relu, leaky_relu (0.1), elu, maxout, each
  with its closed-form derivative (``*_grad``)
* :mod:`~pixelsmith.nn.accounting`: the lecture's parameter arithmetic and ``summary(model, shape)``
* :mod:`~pixelsmith.nn.partial_conv`: ``PartialConv2d`` and ``partial_conv2d`` (convolution over
  the known pixels, with mask update)
* :mod:`~pixelsmith.nn.filtering`: ``filter_image`` with the edge, Sobel, Gaussian and box kernels
"""

from pixelsmith.nn.accounting import (
    LayerRow,
    Summary,
    conv_output_shape,
    conv_output_size,
    conv_params,
    fully_connected_params,
    locally_connected_params,
    receptive_field,
    summary,
)
from pixelsmith.nn.activations import LeakyReLU, maxout
from pixelsmith.nn.filtering import (
    box_kernel,
    edge_kernel,
    filter_image,
    gaussian_kernel,
    sobel_kernels,
)
from pixelsmith.nn.layers import (
    FullyConnected,
    LocallyConnected2d,
    Maxout,
    MaxoutConv2d,
    avg_pool2d,
    locally_connected2d,
    max_pool2d,
)
from pixelsmith.nn.partial_conv import PartialConv2d, partial_conv2d

__all__ = [
    "FullyConnected",
    "LayerRow",
    "LeakyReLU",
    "LocallyConnected2d",
    "Maxout",
    "MaxoutConv2d",
    "PartialConv2d",
    "Summary",
    "avg_pool2d",
    "box_kernel",
    "conv_output_shape",
    "conv_output_size",
    "conv_params",
    "edge_kernel",
    "filter_image",
    "fully_connected_params",
    "gaussian_kernel",
    "locally_connected2d",
    "locally_connected_params",
    "max_pool2d",
    "maxout",
    "partial_conv2d",
    "receptive_field",
    "sobel_kernels",
    "summary",
]
