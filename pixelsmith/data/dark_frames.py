"""The short exposures of raw development: cameras, sensor and noise of the develop task's frames.

Training (:meth:`pixelsmith.tasks.develop.Develop.make_batch`) and measurement
(:func:`pixelsmith.tasks.develop_protocol.synthetic_raw`) make their dark frames here, from a
photo's unprocessed linear signal (:mod:`pixelsmith.data.unprocess`), so the two see one sensor.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from pixelsmith.data.unprocess import (
    CameraParams,
    DarkExposure,
    darken,
    random_camera_params,
    random_noise_levels,
)

#: The sensor: 14-bit codes over a black level of 512 (the SID Sony camera's).
SENSOR_BITS, SENSOR_BLACK = 14, 512
#: Shot-noise levels (variance per unit of normalised signal, log-uniform) of the short exposures:
#: 1 / SHOT_NOISE electrons fill the sensor's white, 100k at base ISO down to about 3k at ISO
#: 3200. Brooks et al.'s range (1e-4 .. 1.2e-2) is for normal exposures; divided by a ratio of 300
#: its upper end leaves under one photon per pixel.
SHOT_NOISE = (1e-5, 3e-4)


def camera(n: int, g: torch.Generator) -> CameraParams:
    """``n`` random cameras of the unprocessing (:func:`~pixelsmith.data.unprocess.
    random_camera_params`) without Brooks' overall brightness gain: here the exposure is the
    ratio's business, so a frame amplified by its ratio has the photo's brightness, as a real
    frame amplified by its true ratio has the scene's."""
    params = random_camera_params(n, g)
    return replace(params, rgb_gain=torch.ones_like(params.rgb_gain))


def dark_frame(linear: torch.Tensor, ratio, g: torch.Generator) -> DarkExposure:
    """The sensor codes of ``linear`` (``(N, ...)`` normalised camera signal) shot ``ratio``
    times too short, at noise levels drawn from ``SHOT_NOISE``."""
    noise = random_noise_levels(linear.shape[0], g, SHOT_NOISE)
    return darken(linear, ratio, g, bits=SENSOR_BITS, black_level=SENSOR_BLACK, noise=noise)
