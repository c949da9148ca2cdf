"""Reading a network's weights from a PyTorch checkpoint a user supplies (``.pth``), safely.

The papers' official checkpoints (ECCV16 colorization, Zero-DCE) and torchvision's VGG16 come
as such files. :func:`read_state_dict` loads one with ``weights_only=True`` (no code in the file
runs) and returns its tensors; :func:`check_state` compares them with the network they are
meant for. Both raise a one-line :class:`~pixelsmith.errors.PixelsmithError` naming the file,
whatever is wrong with it: not a checkpoint, a checkpoint of something else, the right names
with the wrong shapes.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path

import torch

from pixelsmith.errors import PixelsmithError
from pixelsmith.io.reasons import first_line

_SHOWN = 3  # names listed in a message, then a count
_WRAPPERS = ("state_dict", "model")  # {"state_dict": ...}, {"model": ..., "optimizer": ...}
_ZIP, _PICKLE = b"PK\x03\x04", 0x80  # torch.save's archive; a legacy file starts with a pickle
_FILLED_IN = ("num_batches_tracked",)  # batch norm's counter: load_state_dict sets it if absent


def read_state_dict(path: str | Path, what: str) -> dict[str, torch.Tensor]:
    """The tensors of the checkpoint at ``path``, meant to hold ``what`` weights (for the
    messages): a state dict, or one under ``"state_dict"`` or ``"model"``; ``nn.DataParallel``'s
    ``module.`` prefix dropped."""
    path = Path(path)
    if not path.is_file():
        raise PixelsmithError(f"{what} checkpoint not found", path)
    with open(path, "rb") as f:
        head = f.read(4)
    if head != _ZIP and not (head and head[0] == _PICKLE):
        raise PixelsmithError(
            f"not a PyTorch checkpoint (a file torch.save writes starts as a zip archive or a "
            f"pickle; this one starts with {head!r})",
            path,
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for a file it cannot read
        if isinstance(e, pickle.UnpicklingError) and "weights_only" in str(e):
            reason = "it holds objects other than tensors, which pixelsmith does not unpickle"
        else:
            reason = f"{type(e).__name__}: {first_line(e)}"
        raise PixelsmithError(f"cannot read this PyTorch checkpoint ({reason})", path) from None
    for key in _WRAPPERS:
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
            break
    if not isinstance(state, Mapping):
        raise PixelsmithError(
            f"not {what} weights: the file holds a {type(state).__name__}, not a state dict", path
        )
    if not state:
        raise PixelsmithError(f"not {what} weights: the file holds an empty dict", path)
    bad = [k for k, v in state.items() if not (isinstance(k, str) and torch.is_tensor(v))]
    if bad:
        raise PixelsmithError(
            f"not {what} weights: {_listed(map(repr, bad))} not named tensors", path
        )
    if all(k.startswith("module.") for k in state):  # saved from nn.DataParallel
        state = {k[len("module.") :]: v for k, v in state.items()}
    return dict(state)


def check_state(
    state: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Tensor], what: str, path: Path
) -> None:
    """Refuse ``state`` unless it has ``expected``'s names and shapes (a batch-norm counter may
    be absent: loading fills it in)."""
    missing = [k for k in expected if k not in state and not k.endswith(_FILLED_IN)]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = [f"missing {_listed(missing)}"] if missing else []
        parts += [f"unexpected {_listed(unexpected)}"] if unexpected else []
        raise PixelsmithError(f"not {what} weights: {'; '.join(parts)}", path)
    wrong = [
        f"{k} is {tuple(state[k].shape)}, expected {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if wrong:
        raise PixelsmithError(f"{what} weights of the wrong shape: {_listed(wrong)}", path)


def _listed(items) -> str:
    items = list(items)
    more = len(items) - _SHOWN
    return ", ".join(items[:_SHOWN]) + (f" and {more} more" if more > 0 else "")
