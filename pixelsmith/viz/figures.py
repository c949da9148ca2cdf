"""Matplotlib figures as image tensors, so they are written by :func:`pixelsmith.io.write_image`."""

from __future__ import annotations

import numpy as np
import torch


def figure_to_tensor(fig, dpi: int = 100) -> torch.Tensor:
    """Render a matplotlib figure to ``(3, H, W)`` float in [0, 1] (white background)."""
    fig.set_dpi(dpi)
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    return torch.from_numpy(rgba[..., :3].copy()).permute(2, 0, 1).float() / 255
