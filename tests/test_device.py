"""pick_device: "auto" prefers CUDA, then Apple MPS, then the CPU; a named device is checked.

Availability is monkeypatched, so every branch runs on any machine; the last test uses a real GPU
where there is one.
"""

from __future__ import annotations

import pytest
import torch

from pixelsmith.devices import pick_device
from pixelsmith.errors import PixelsmithError


@pytest.fixture
def available(monkeypatch):
    """``available(cuda=..., mps=...)`` makes torch report those accelerators (and no others)."""

    def set_available(cuda: bool = False, mps: bool = False) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)

    return set_available


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert message and "\n" not in message, f"not one line: {message!r}"
    return message


def test_auto_is_the_cpu_without_accelerators(available):
    available(cuda=False, mps=False)
    assert pick_device("auto") == torch.device("cpu")
    assert pick_device() == torch.device("cpu")  # "auto" is the default


def test_auto_prefers_cuda_then_mps(available):
    available(cuda=True, mps=True)
    assert pick_device("auto").type == "cuda"
    available(cuda=False, mps=True)
    assert pick_device("auto").type == "mps"


def test_named_devices_are_returned_when_present(available):
    available(cuda=True, mps=True)
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("cuda").type == "cuda"
    assert pick_device("cuda:1") == torch.device("cuda", 1)
    assert pick_device("mps").type == "mps"
    available(cuda=False, mps=False)
    assert pick_device("cpu") == torch.device("cpu")  # the CPU is always there


@pytest.mark.parametrize("name", ["gpu", "tpu", "cuda:x", "", "CPU!"])
def test_a_bad_name_is_a_one_line_pixelsmith_error(available, name):
    available(cuda=False, mps=False)
    with pytest.raises(PixelsmithError) as err:
        pick_device(name)
    message = _one_line(err)
    assert repr(name) in message or name in message  # it says what was asked for
    assert "cpu" in message and "cuda" in message  # and what would work


@pytest.mark.parametrize("name", ["cuda", "cuda:0"])
def test_cuda_without_cuda_is_a_one_line_pixelsmith_error(available, name):
    available(cuda=False, mps=True)
    with pytest.raises(PixelsmithError, match="CUDA") as err:
        pick_device(name)
    _one_line(err)


def test_mps_without_mps_is_a_one_line_pixelsmith_error(available):
    available(cuda=True, mps=False)
    with pytest.raises(PixelsmithError, match="MPS") as err:
        pick_device("mps")
    _one_line(err)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_auto_picks_a_real_gpu_and_it_computes():
    device = pick_device("auto")
    assert device.type == "cuda"
    x = torch.arange(6.0, device=device).reshape(2, 3)
    assert (x @ x.T).cpu().tolist() == [[5.0, 14.0], [14.0, 50.0]]
