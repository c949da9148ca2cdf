"""Videos through image tasks: ``pixelsmith video colorize in.mp4 out.mp4``.

- :func:`process_video` (:mod:`pixelsmith.video.process`): decode, restore each frame with the
  model loaded once, smooth, encode H.264 with the input's timestamps, copy the audio, write
  atomically;
- :class:`ChromaSmoother` and :func:`chroma_flicker` (:mod:`pixelsmith.video.smoothing`): temporal
  smoothing of chroma for colorization, and the flicker it removes;
- :data:`video_command` (:mod:`pixelsmith.video.command`): the ``pixelsmith video`` verb.

Only the command is imported here (it needs click alone); the rest is imported on first use, so
that ``pixelsmith --help`` does not import torch or PyAV.
"""

from __future__ import annotations

from pixelsmith.lazy import lazy_getattr
from pixelsmith.video.command import video_command

_LAZY = {
    "process_video": "pixelsmith.video.process",
    "VideoReport": "pixelsmith.video.process",
    "video_tasks": "pixelsmith.video.process",
    "ChromaSmoother": "pixelsmith.video.smoothing",
    "chroma_flicker": "pixelsmith.video.smoothing",
}

__getattr__ = lazy_getattr(__name__, _LAZY)


__all__ = ["video_command", *_LAZY]
