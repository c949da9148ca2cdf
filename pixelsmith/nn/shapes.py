"""Output sizes of convolutions and pooling: the arithmetic layers and accounting share."""

from __future__ import annotations

from collections.abc import Sequence

from torch.nn.modules.utils import _pair

from pixelsmith.errors import PixelsmithError

__all__ = ["conv_output_shape", "conv_output_size"]


def conv_output_size(
    n: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Output length of a convolution or pooling along one axis of length ``n``:

        floor((n + 2 padding - dilation (kernel - 1) - 1) / stride) + 1

    A 32-pixel side through a 5-pixel filter (stride 1, no padding) gives 28.

    Raises:
        PixelsmithError: kernel, stride or dilation below 1, negative padding, or an empty output.
    """
    if kernel < 1 or stride < 1 or dilation < 1 or padding < 0:
        raise PixelsmithError(
            f"invalid geometry: kernel={kernel} stride={stride} "
            f"padding={padding} dilation={dilation}"
        )
    out = (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    if out < 1:
        raise PixelsmithError(
            f"a kernel of {kernel} (dilation {dilation}) does not fit an input "
            f"of {n} with padding {padding}"
        )
    return out


def conv_output_shape(
    in_shape: Sequence[int],
    out_channels: int,
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> tuple[int, int, int]:
    """``(C, H, W)`` through ``out_channels`` filters of size ``kernel`` gives
    ``(out_channels, H', W')``."""
    _, h, w = in_shape
    k, s, p, d = _pair(kernel), _pair(stride), _pair(padding), _pair(dilation)
    return (
        out_channels,
        conv_output_size(h, k[0], s[0], p[0], d[0]),
        conv_output_size(w, k[1], s[1], p[1], d[1]),
    )
