"""Shared fixtures: a small folder of real photos (from scikit-image) and the shared benchmark data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pixelsmith.paths import data_dir

torch.set_num_threads(2)

# Networks run in PyTorch in this suite unless a test asks for another backend: the default
# ("auto": ONNX Runtime on the CPU) exports and checks each model before its first run, which
# the suite's many throwaway models cannot afford. tests/test_default_backend.py checks the
# default itself; tests/test_export.py checks every shipped model's export. Subprocesses inherit.
os.environ.setdefault("PIXELSMITH_BACKEND", "torch")


@pytest.fixture(autouse=True, scope="session")
def _own_cache_folder(tmp_path_factory):
    """Exports go to a folder of the session's, never to the user's ~/.cache."""
    os.environ["PIXELSMITH_CACHE"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(autouse=True)
def _restore_torch_globals():
    """Every test leaves torch's thread count as it found it, so no result depends on test order:
    a test that changes it, or runs a Trainer (which applies ``TrainConfig.threads`` and turns on
    denormal flushing), must not change how later tests compute. Denormal flushing has no
    getter; it is off by default, and is turned off again after each test."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
    torch.set_flush_denormal(False)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip: those tests run in CI, which has it."""
    d = data_dir()
    if d is None:
        pytest.skip("../shared/data not found (set PIXELSMITH_DATA): benchmark-data test skipped")
    return d


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory) -> Path:
    """Four natural photos from scikit-image, as PNG files in a temporary folder."""
    from skimage import data

    d = tmp_path_factory.mktemp("photos")
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        Image.fromarray(np.ascontiguousarray(getattr(data, name)())).save(d / f"{name}.png")
    return d
