"""A low-light enhancer whose output cannot blur or grid: per-pixel tone curves, estimated at low
resolution, applied at full resolution.

    photo x (N, 3, H, W) in [0, 1]
      -> a copy shrunk by ``down`` (4: the mean of each 4x4 block)
      -> a small U-Net (3x3 convolutions, max pooling down, *bilinear* upsampling up, no
         transposed convolution, no pixel shuffle) with a global branch (the mean of the
         bottleneck's features, added back to every position: how dark the whole photo is)
      -> ``3 n`` curve parameters alpha in [-1, 1] per low-resolution pixel (tanh; the head
         starts at zero: the untrained model is the identity)
      -> alpha upsampled bilinearly to H x W, scaled by the exposure gate ``w(mean(x))``
      -> Zero-DCE's curves, ``n = 8`` in turn per channel: ``LE(v) = v + a v (1 - v)``

Why this form (issue 33):

- **Detail by construction.** Each output pixel is a monotone function of the same input pixel
  whose parameters vary smoothly (bilinear interpolation of a coarse map), so the input's edges
  and texture pass through at the local gain; nothing is re-synthesised, so nothing is smeared.
- **No grid.** The full-resolution path has no sub-pixel phases: no transposed convolution and
  no depth-to-space, the two steps that gave ``lowlight_unet`` its period-2 and period-4 grid
  (docs/lowlight.md). A coarse map upsampled bilinearly has no narrow spectral spike.
- **Black stays black, white stays white**: every curve fixes 0 and 1.
- **A well-exposed photo passes through**: the curves are scaled by a gate of the whole photo's
  mean exposure, 1 up to ``gate[0]`` and 0 from ``gate[1]`` (linear between), and training
  shows the net well-exposed photos as their own targets below it.

The curves depend on the whole photo (the shrunk copy and the global branch), so the model runs
on the whole image (``receptive_field=None``): no tiles, no seams. Its sides are multiples of 16
(the task pads); every size is a fixed ratio of the input's, so it exports to ONNX. A 12-megapixel
photo's curves are estimated on a 1000 x 750 copy.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from pixelsmith.models._registry import ModelSpec, register_model
from pixelsmith.models.zero_dce import _curve

ITERATIONS = 8


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="replicate"),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, padding_mode="replicate"),
        nn.LeakyReLU(0.2, inplace=True),
    )


def exposure_gate(mean: torch.Tensor, gate: tuple[float, float]) -> torch.Tensor:
    """1 for a mean exposure up to ``gate[0]``, 0 from ``gate[1]``, linear between."""
    lo, hi = gate
    return ((hi - mean) / (hi - lo)).clamp(0.0, 1.0)


class CurveNet(nn.Module):
    """``(N, 3, H, W)`` sRGB in [0, 1] -> the enhanced photo, same shape (``aux=True``: and the
    low-resolution curve parameters ``(N, 3 n, h, w)``, for the smoothness loss)."""

    objective = "curves"  # the lowlight task's loss: L1 to the target + smoothness of alpha

    def __init__(
        self,
        widths: tuple[int, ...] = (16, 32, 64),
        iterations: int = ITERATIONS,
        down: int = 4,
        gate: tuple[float, float] = (0.5, 0.62),
    ) -> None:
        super().__init__()
        self.widths, self.iterations = tuple(widths), iterations
        self.down, self.gate = down, tuple(gate)
        c_in = 3
        self.enc = nn.ModuleList()
        for w in self.widths:
            self.enc.append(_block(c_in, w))
            c_in = w
        self.glob = nn.Sequential(nn.Linear(c_in, c_in), nn.LeakyReLU(0.2), nn.Linear(c_in, c_in))
        self.dec = nn.ModuleList()
        for w_low, w in zip(self.widths[:0:-1], self.widths[-2::-1], strict=True):
            self.dec.append(_block(w_low + w, w))
        self.head = nn.Conv2d(
            self.widths[0], 3 * iterations, 3, padding=1, padding_mode="replicate"
        )
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    @property
    def size_multiple(self) -> int:
        return self.down * 2 ** (len(self.widths) - 1)

    @property
    def spec(self) -> ModelSpec:
        # global context: the whole photo at once
        return ModelSpec(3, 3, 1, None, self.size_multiple)

    def low_size(self, h: int, w: int) -> tuple[int, int]:
        """The curve grid's size for an ``h x w`` photo (sides rounded up to the multiple)."""
        m = self.size_multiple
        return -(-h // m) * m // self.down, -(-w // m) * m // self.down

    def low_curves(self, x: torch.Tensor) -> torch.Tensor:
        """alpha ``(N, 3 n, H / down, W / down)`` in [-1, 1], before the gate (sides of ``x``
        multiples of :attr:`size_multiple`)."""
        f = F.avg_pool2d(x, self.down)
        skips = []
        for i, block in enumerate(self.enc):
            if i:
                f = F.max_pool2d(f, 2)
            f = block(f)
            skips.append(f)
        skips.pop()
        f = f + self.glob(f.mean((2, 3)))[..., None, None]
        for block in self.dec:
            skip = skips.pop()
            f = F.interpolate(f, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            f = block(torch.cat([f, skip], 1))
        return torch.tanh(self.head(f))

    def forward(self, x: torch.Tensor, aux: bool = False):
        h, w = x.shape[-2:]
        m = self.size_multiple
        if h % m or w % m:  # called directly at another size (the task pads to the multiple)
            padded = self(F.pad(x, (0, -w % m, 0, -h % m), mode="replicate"), aux)
            if aux:
                return padded[0][..., :h, :w], padded[1]
            return padded[..., :h, :w]
        alpha = self.low_curves(x)
        gate = exposure_gate(x.mean((1, 2, 3)), self.gate).view(-1, 1, 1, 1).to(alpha)
        out = x
        for a in (alpha * gate).split(3, dim=1):  # one iteration's maps at full size at a time
            a = F.interpolate(a, size=x.shape[-2:], mode="bilinear", align_corners=False)
            out = _curve(out, a)
        return (out, alpha) if aux else out


@register_model(tasks=("lowlight",))
def lowlight_curves(**kw) -> CurveNet:
    """Per-pixel tone curves (8 per channel) estimated at 1/4 size by a small U-Net with a
    global branch (bilinear upsampling, no transposed convolution; 0.23M parameters), applied
    at full size and gated by the photo's mean exposure."""
    if "widths" in kw:
        kw["widths"] = tuple(kw["widths"])
    if "gate" in kw:
        kw["gate"] = tuple(kw["gate"])
    return CurveNet(**kw)
