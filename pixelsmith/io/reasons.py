"""One-line reasons for failures, for :class:`~pixelsmith.errors.PixelsmithError` messages."""

from __future__ import annotations

import errno

ALREADY_EXISTS = "file already exists (use --overwrite, or overwrite=True from Python)"


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def first_line(e: BaseException) -> str:
    """The first line of ``e``'s message (PyTorch's run to pages), or its type's name."""
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def _os_reason(e: OSError) -> str:
    reasons = {
        errno.ENOSPC: "disk full (no space left on device)",
        errno.EDQUOT: "disk quota exceeded",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "read-only file system",
        errno.ENAMETOOLONG: "file name too long",
    }
    return reasons.get(e.errno or 0) or e.strerror or _one_line(e)
