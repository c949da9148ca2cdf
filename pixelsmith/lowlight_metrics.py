"""No-reference measures of a low-light result against its input: the periodic-artefact score and
the detail ratio (issue 33: a net that grids or smears passed every paired benchmark).

- :func:`periodic_artefact_score`: how far the strongest narrow spike of the luminance-gradient
  power spectrum, at a period of ``2 .. 16`` px, stands above its spectral neighbourhood. Each
  row's horizontal gradient (each column's vertical one) is Hann-windowed and Fourier
  transformed; the periodograms are averaged over rows (columns), so a pattern locked to the
  pixel grid (a checkerboard, stripes, a tile grid) adds up while image content, at a different
  phase in each row, spreads over every frequency. The score is the largest ratio of a bin's
  power to the median of the bins around it (a few bins either side, the two next to it left
  out), over both axes. The gradient whitens a photo's ``1/f`` spectrum, so a clean photo scores
  near 1 (1.05-1.3 on real dark photos); a grid scores several times that.
- :func:`detail_ratio`: the mean luminance-gradient magnitude of a result, after scaling it to
  the mean brightness of a reference (a plain global gain of the same input), divided by the
  reference's. A result that keeps the input's detail scores about 1; one that smears, less.
"""

from __future__ import annotations

import torch

LUMA = (0.299, 0.587, 0.114)
#: the periods (pixels) the artefact score looks at
PERIODS = (2.0, 16.0)


def luminance(img: torch.Tensor) -> torch.Tensor:
    """``(3, H, W)`` or ``(1, H, W)`` (or ``(H, W)``) in [0, 1] -> ``(H, W)`` float64 (Rec. 601)."""
    x = img.double()
    if x.ndim == 2:
        return x
    if x.shape[0] == 1:
        return x[0]
    w = torch.tensor(LUMA, dtype=x.dtype).view(3, 1, 1)
    return (x[:3] * w).sum(0)


def _gradient_periodogram(y: torch.Tensor, dim: int) -> torch.Tensor:
    """The mean periodogram along ``dim`` of ``y``'s forward difference along ``dim``
    (``(n // 2 + 1,)``, bin ``k`` at frequency ``k / n`` cycles per pixel)."""
    g = torch.diff(y, dim=dim)
    g = g.movedim(dim, -1)
    n = g.shape[-1]
    g = g - g.mean(-1, keepdim=True)
    window = torch.hann_window(n, periodic=False, dtype=g.dtype)
    spec = torch.fft.rfft(g * window, dim=-1).abs().square()
    return spec.mean(0)


def _spike_ratio(
    power: torch.Tensor, n: int, periods=PERIODS, half: int = 6
) -> tuple[float, float]:
    """``(ratio, period)`` of the strongest bin in ``periods`` against the median of the bins
    within ``half`` of it (its two nearest neighbours left out: a Hann window spreads a spike
    over three bins; a period that divides the side falls on one bin)."""
    best, at = 0.0, 0.0
    lo = max(1, int(n / periods[1]) - 1)
    hi = min(len(power) - 1, int(round(n / periods[0])))
    for k in range(lo, hi + 1):
        idx = [j for j in range(k - half, k + half + 1) if abs(j - k) > 1 and 1 <= j < len(power)]
        if len(idx) < 3:
            continue
        base = float(power[idx].median())
        if base <= 0:
            continue
        r = float(power[k]) / base
        if r > best:
            best, at = r, n / k
    return best, at


def periodic_artefact_score(img: torch.Tensor, with_period: bool = False):
    """The periodic-artefact score of an image ``(C, H, W)`` in [0, 1] (see the module's text):
    about 1 for a clean photo, several times that where a grid or stripes at a period of 2-16 px
    stand out. ``with_period``: ``(score, period in px, axis "x" or "y")``."""
    y = luminance(img)
    h, w = y.shape
    if min(h, w) < 64:
        raise ValueError(f"an image of {h}x{w} is too small for the artefact score (64 px)")
    # whole multiples of 16 (+1 for the difference): a period 2..16 grid then falls on one bin
    y = y[: (h - 1) // 16 * 16 + 1, : (w - 1) // 16 * 16 + 1]
    best = (0.0, 0.0, "x")
    for dim, axis in ((1, "x"), (0, "y")):
        power = _gradient_periodogram(y, dim)
        n = y.shape[dim] - 1
        r, p = _spike_ratio(power, n)
        if r > best[0]:
            best = (r, p, axis)
    return best if with_period else best[0]


def gradient_magnitude(img: torch.Tensor) -> torch.Tensor:
    """The mean luminance-gradient magnitude of ``(C, H, W)`` (central differences, float64)."""
    y = luminance(img)
    gx = y[1:-1, 2:] - y[1:-1, :-2]
    gy = y[2:, 1:-1] - y[:-2, 1:-1]
    return (gx.square() + gy.square()).sqrt().mean() / 2


def detail_ratio(result: torch.Tensor, reference: torch.Tensor) -> float:
    """``result``'s mean gradient magnitude after scaling it to ``reference``'s mean brightness,
    over ``reference``'s (both ``(C, H, W)`` in [0, 1]; the reference is a global gain of the
    same input)."""
    m_res, m_ref = float(result.double().mean()), float(reference.double().mean())
    if m_res <= 0 or m_ref <= 0:
        raise ValueError("a black image has no detail to compare")
    g_ref = float(gradient_magnitude(reference))
    return float(gradient_magnitude(result.double() * (m_ref / m_res))) / g_ref
