"""Attributes of a photo that steer a conditional model (the inpainting VAE's fill).

No labelled face set is at hand, so the attributes pixelsmith trains with are measured on the photo
itself, in HSV (the hexcone model: ``V = max(R, G, B)``, ``S = (V - min) / V``, ``H`` the hue
angle, as :mod:`colorsys` computes them), averaged over the known pixels:

- ``brightness``: the mean of ``V``, in [0, 1];
- ``saturation``: the mean of ``S``, in [0, 1];
- ``hue_cos``, ``hue_sin``: the saturation-weighted circular mean of the hue,
  ``mean(S cos 2 pi H)`` and ``mean(S sin 2 pi H)``, in [-1, 1]: a grey photo has the vector 0
  (its hue means nothing), a photo of one vivid colour a vector of length 1 at its hue.

A user's own folder can carry other labels (``smiling``, ``age``...) in a CSV file:
:func:`read_labels`. :func:`parse_attributes` reads the ``name=value,...`` overrides the command
line gives.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from pixelsmith.errors import PixelsmithError

#: The attributes measured on a photo, in the order of :func:`photo_attributes`' columns.
ATTRIBUTES: tuple[str, ...] = ("brightness", "saturation", "hue_cos", "hue_sin")


def rgb_to_hsv(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB ``(B, 3, H, W)`` in [0, 1] -> HSV ``(B, 3, H, W)``, each in [0, 1] (``H`` a fraction
    of the turn, 0 for a grey pixel), as :func:`colorsys.rgb_to_hsv` per pixel."""
    r, g, b = rgb.unbind(1)
    v, arg = rgb.max(1)
    c = v - rgb.min(1).values
    safe = torch.where(c > 0, c, torch.ones_like(c))
    h = torch.where(
        arg == 0,
        ((g - b) / safe) % 6,
        torch.where(arg == 1, (b - r) / safe + 2, (r - g) / safe + 4),
    )
    h = torch.where(c > 0, h / 6, torch.zeros_like(h))
    s = torch.where(v > 0, c / torch.where(v > 0, v, torch.ones_like(v)), torch.zeros_like(v))
    return torch.stack([h, s, v], 1)


def photo_attributes(rgb: torch.Tensor, known: torch.Tensor | None = None) -> torch.Tensor:
    """The :data:`ATTRIBUTES` of each photo: ``(B, 3, H, W)`` in [0, 1] -> ``(B, 4)``.

    With ``known`` ``(B, 1, H, W)`` (1 = known, 0 = hole, as inpainting masks) the means are over
    the known pixels only (weighted by ``known`` where it is fractional); a photo with no known
    pixel gets zeros. Not meant to be differentiated (``max`` picks one channel)."""
    if rgb.dim() != 4 or rgb.shape[1] != 3:
        raise ValueError(f"photo_attributes takes (B, 3, H, W), got {tuple(rgb.shape)}")
    hsv = rgb_to_hsv(rgb.clamp(0, 1))
    h, s, v = hsv.unbind(1)
    angle = 2 * math.pi * h
    values = torch.stack([v, s, s * torch.cos(angle), s * torch.sin(angle)], 1)
    if known is None:
        return values.mean((2, 3))
    w = known[:, :1].to(values.dtype).expand(-1, 1, *values.shape[-2:])
    total = w.sum((2, 3))
    return (values * w).sum((2, 3)) / total.clamp_min(torch.finfo(values.dtype).tiny)


def measure(
    names: tuple[str, ...],
    rgb: torch.Tensor,
    known: torch.Tensor | None = None,
    fallback: torch.Tensor | None = None,
) -> torch.Tensor:
    """The attributes ``names`` of each photo ``(B, 3, H, W)``: ``(B, len(names))``, measured
    (:func:`photo_attributes`) for those in :data:`ATTRIBUTES`, ``fallback[k]`` (a label's
    training mean, ``(len(names),)``) for the others; without ``fallback`` an attribute that
    cannot be measured is a :class:`PixelsmithError`."""
    measured = photo_attributes(rgb, known)
    columns = []
    for k, name in enumerate(names):
        if name in ATTRIBUTES:
            columns.append(measured[:, ATTRIBUTES.index(name)])
        elif fallback is not None:
            columns.append(fallback[k].to(measured).expand(rgb.shape[0]))
        else:
            raise PixelsmithError(
                f"the attribute {name!r} cannot be measured on a photo (measured: "
                f"{', '.join(ATTRIBUTES)}); give it in a labels CSV (--labels)"
            )
    return torch.stack(columns, 1)


def parse_attributes(text: str | dict[str, Any] | None) -> dict[str, float]:
    """``"brightness=0.7,saturation=0.2"`` (or a dict of the same) -> ``{name: value}``.

    Raises :class:`PixelsmithError` for an entry that is not ``name=number`` or a name given
    twice."""
    if text is None or text == "":
        return {}
    if isinstance(text, dict):
        out = {}
        for k, v in text.items():
            try:
                out[str(k)] = float(v)
            except (TypeError, ValueError):
                raise PixelsmithError(f"attribute {k!r} must be a number, not {v!r}") from None
            if not math.isfinite(out[str(k)]):
                raise PixelsmithError(f"attribute {k!r} must be finite, not {v!r}")
        return out
    out: dict[str, float] = {}
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        name, eq, value = part.partition("=")
        name = name.strip()
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not eq or not name or not math.isfinite(number):
            raise PixelsmithError(
                f"attributes are name=number pairs separated by commas "
                f"(brightness=0.7,saturation=0.2), not {part!r}"
            )
        if name in out:
            raise PixelsmithError(f"attribute {name!r} is given twice")
        out[name] = number
    return out


@dataclass
class Labels:
    """A labels CSV: the attribute ``names`` and, per file name, its values ``(A,)``."""

    names: tuple[str, ...]
    values: dict[str, torch.Tensor]
    path: Path

    def matrix(self, paths: list[Path]) -> torch.Tensor:
        """The labels of ``paths`` (matched by file name) as ``(len(paths), A)``; a photo without
        a row is a :class:`PixelsmithError` naming it."""
        missing = [p for p in paths if Path(p).name not in self.values]
        if missing:
            more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
            raise PixelsmithError(
                f"no labels for {Path(missing[0]).name}{more} in {self.path}", missing[0]
            )
        return torch.stack([self.values[Path(p).name] for p in paths])


def read_labels(path: str | Path) -> Labels:
    """A CSV of labels for a user's folder: the header row names the attributes (its first cell,
    the file-name column, any title); each further row is a file name and one number per
    attribute.

        file,smiling,age
        0001.jpg,1,0.31
        0002.jpg,0,0.52

    Returns :class:`Labels` (``labels.values[file name]`` a float32 tensor ``(A,)``). Raises
    :class:`PixelsmithError` naming the file (and the line) for a missing file, a header with no
    attribute, a row with a missing or extra column, a value that is not a finite number, or a
    file named twice."""
    p = Path(path)
    if not p.is_file():
        raise PixelsmithError("labels file not found", p)
    try:
        with open(p, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise PixelsmithError(f"cannot read the labels ({str(e).splitlines()[0]})", p) from None
    numbered = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if not numbered:
        raise PixelsmithError("the labels file is empty (it needs a header row)", p)
    _, header = numbered[0]
    names = tuple(c.strip() for c in header[1:])
    if not names:
        raise PixelsmithError(
            "the header row names no attribute (file,attribute1,attribute2,...)", p
        )
    bad = [n for n in names if not n]
    if bad or len(set(names)) != len(names):
        raise PixelsmithError("the header row has an empty or repeated attribute name", p)
    values: dict[str, torch.Tensor] = {}
    for line, row in numbered[1:]:
        cells = [c.strip() for c in row]
        name = cells[0]
        if len(cells) != len(names) + 1:
            what = "missing" if len(cells) < len(names) + 1 else "extra"
            raise PixelsmithError(
                f"line {line}: {what} column ({len(cells) - 1} values for {len(names)} "
                f"attributes: {', '.join(names)})",
                p,
            )
        if not name:
            raise PixelsmithError(f"line {line}: no file name in the first column", p)
        if name in values:
            raise PixelsmithError(f"line {line}: {name} is labelled twice", p)
        numbers = []
        for attr, cell in zip(names, cells[1:], strict=True):
            try:
                x = float(cell)
            except ValueError:
                x = float("nan")
            if not math.isfinite(x):
                raise PixelsmithError(
                    f"line {line}: {attr} of {name} is {cell!r}, not a finite number", p
                )
            numbers.append(x)
        values[name] = torch.tensor(numbers, dtype=torch.float32)
    if not values:
        raise PixelsmithError("the labels file has a header but no rows", p)
    return Labels(names, values, p)


@dataclass
class LabelledPhotos:
    """Training photos (a :class:`~pixelsmith.data.photos.PhotoFolder`) and their labels
    ``(len(photos), A)`` named ``names``."""

    photos: Any
    labels: torch.Tensor
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.photos)

    def random_crops(
        self, n: int, size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(crops (n, 3, size, size), their photos' labels (n, A))``."""
        crops, index = self.photos.random_crops(n, size, generator, return_index=True)
        return crops, self.labels[index]
