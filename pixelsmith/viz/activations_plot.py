"""One figure of the lecture's activation functions, each with its closed-form derivative."""

from __future__ import annotations

from pathlib import Path

import torch

from pixelsmith.io import write_image
from pixelsmith.nn import activations as A
from pixelsmith.viz.figures import figure_to_tensor

MAXOUT_PIECES = ((-0.5, -1.0), (0.25, 0.0), (1.5, -2.0))
"""The example maxout unit plotted: ``max_i (w_i x + b_i)`` over these ``(w_i, b_i)``."""


def _maxout_example(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    z = torch.stack([w * x + b for w, b in MAXOUT_PIECES], dim=-1)  # (N, k)
    slopes = torch.tensor([w for w, _ in MAXOUT_PIECES], dtype=x.dtype)
    k = len(MAXOUT_PIECES)
    return A.maxout(z, k, dim=-1)[:, 0], (A.maxout_grad(z, k, dim=-1) * slopes).sum(-1)


def activation_curves(x: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{title: (f(x), f'(x))}`` for the six activations of the figure, ``x`` of shape ``(N,)``."""
    curves = {
        "sigmoid": (A.sigmoid(x), A.sigmoid_grad(x)),
        "tanh": (A.tanh(x), A.tanh_grad(x)),
        "ReLU": (A.relu(x), A.relu_grad(x)),
        f"leaky ReLU (slope {A.LEAKY_SLOPE})": (A.leaky_relu(x), A.leaky_relu_grad(x)),
        "ELU (alpha 1)": (A.elu(x), A.elu_grad(x)),
        "maxout of 3 lines": _maxout_example(x),
    }
    return curves


def plot_activations(
    out_path: str | Path, x_range: tuple[float, float] = (-5.0, 5.0), dpi: int = 100
) -> Path:
    """Write a 2x3 PNG grid: each activation (solid) and its derivative (dashed) over ``x_range``.

    Returns the written path (replaced if it exists; written atomically).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    x = torch.linspace(x_range[0], x_range[1], 1001, dtype=torch.float64)
    fig = Figure(figsize=(11, 6.4))
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 3)
    for ax, (title, (f, df)) in zip(axes.flat, activation_curves(x).items(), strict=True):
        ax.axhline(0, color="0.75", lw=0.8)
        ax.axvline(0, color="0.75", lw=0.8)
        if title.startswith("maxout"):
            for wi, bi in MAXOUT_PIECES:
                ax.plot(x.numpy(), (wi * x + bi).numpy(), color="0.6", lw=0.8, ls=":")
        ax.plot(x.numpy(), f.numpy(), color="C0", lw=2, label="f(x)")
        ax.plot(x.numpy(), df.numpy(), color="C3", lw=1.6, ls="--", label="f'(x)")
        ax.set_title(title)
        ax.set_xlim(*x_range)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(loc="upper left")
    fig.suptitle("Activation functions (solid) and their derivatives (dashed)")
    fig.tight_layout()
    return write_image(out_path, figure_to_tensor(fig, dpi=dpi), overwrite=True)
