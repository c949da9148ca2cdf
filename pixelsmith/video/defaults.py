"""The video settings' defaults, in a module of constants only (the CLI reads them without torch).

Why these values: docs/video.md, "Temporal smoothing of chroma".
"""

from __future__ import annotations

SMOOTH_STRENGTH = 0.8
"""Weight of the previous frame's smoothed ab in the moving average (0: off; the time constant is
``1 / (1 - strength)`` frames: 5 at 0.8)."""

SCENE_CUT = 10.0
"""Mean change of L* (0-100) between two frames' 32-pixel thumbnails above which a new scene starts
and the smoothing forgets the previous frame."""

MOTION = 4.0
"""Change of local mean L* (5x5 pixels) at which a pixel keeps ``exp(-1)`` of its smoothing weight:
where something moves, the pixel follows the fresh prediction (0: no motion gate)."""

CRF = 18
"""libx264's constant rate factor (0: lossless in YUV; 18: visually transparent; 51: smallest)."""
