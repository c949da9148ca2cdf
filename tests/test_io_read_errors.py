"""Tests for read_image on bad files: missing, empty, corrupt, truncated, too large."""

from __future__ import annotations

import os
import socket
import struct
import threading
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from io_helpers import H, W, _one_line_naming, _png16_reference, _png_chunk, _rgb, _u16
from PIL import Image

import pixelsmith.io.read as read_module
from pixelsmith.errors import PixelsmithError
from pixelsmith.io import read_image, read_raw
from pixelsmith.io.checks import _open_regular


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.png"
    with pytest.raises(PixelsmithError, match="file not found") as err:
        read_image(path)
    _one_line_naming(err, path)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(PixelsmithError, match="folder") as err:
        read_image(tmp_path)
    _one_line_naming(err, tmp_path)


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.touch()
    with pytest.raises(PixelsmithError, match="file is empty") as err:
        read_image(path)
    _one_line_naming(err, path)


def _read_in_thread(path: Path, read: Callable[[Path], object] = read_image) -> BaseException:
    """Run ``read(path)`` in a thread and return what it raised; fail, not hang, if it blocks."""
    outcome: list[BaseException] = []

    def target() -> None:
        try:
            read(path)
        except BaseException as e:
            outcome.append(e)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=30)
    if thread.is_alive():  # unblock it (an open() waiting for a writer) before failing
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"reading {path} blocked")
    assert outcome, "no error raised"
    return outcome[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
@pytest.mark.parametrize("reader", ["read_image", "read_raw", "_open_regular"])
def test_named_pipe_is_not_a_regular_file(tmp_path: Path, reader: str) -> None:
    path = tmp_path / ("pipe.dng" if reader == "read_raw" else "pipe.png")
    os.mkfifo(path)
    read = {"read_image": read_image, "read_raw": read_raw, "_open_regular": _open_regular}[reader]
    err = _read_in_thread(path, read)  # _open_regular: a file swapped for a pipe after the check
    assert isinstance(err, PixelsmithError), repr(err)
    assert "not a regular file (a named pipe (FIFO))" in str(err)
    assert "\n" not in str(err) and str(path) in str(err)


def test_devices_and_sockets_are_not_regular_files(tmp_path: Path) -> None:
    if os.path.exists("/dev/null"):
        with pytest.raises(PixelsmithError, match=r"not a regular file \(a character device\)"):
            read_image("/dev/null")
    if not hasattr(socket, "AF_UNIX"):
        pytest.skip("no Unix sockets on this system")
    path = tmp_path / "s.png"
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.bind(str(path))
        except OSError as e:  # a path too long for a socket address
            pytest.skip(f"cannot bind a Unix socket here: {e}")
        with pytest.raises(PixelsmithError, match=r"not a regular file \(a socket\)") as err:
            read_image(path)
    _one_line_naming(err, path)


def test_text_file_is_not_an_image(tmp_path: Path) -> None:
    for name in ("notes.png", "notes.tif", "notes.txt"):
        path = tmp_path / name
        path.write_text("hello, this is not a picture\n")
        with pytest.raises(PixelsmithError, match="not an image file") as err:
            read_image(path)
        _one_line_naming(err, path)


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif", ".gif", ".webp"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_file_raises(tmp_path: Path, suffix: str, keep: float) -> None:
    full = tmp_path / f"full{suffix}"
    Image.fromarray(_rgb(10, (96, 128, 3))).save(full)
    data = full.read_bytes()
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(PixelsmithError, match="truncated or corrupt|not an image") as err:
        read_image(path)
    _one_line_naming(err, path)


def test_truncated_16bit_png_raises(tmp_path: Path) -> None:
    full = tmp_path / "full.png"
    _png16_reference(full, _u16(11, (64, 64, 3)))
    path = tmp_path / "cut.png"
    path.write_bytes(full.read_bytes()[:3000])
    with pytest.raises(PixelsmithError, match="truncated or corrupt"):
        read_image(path)


def test_raw_file_sent_to_read_raw(tmp_path: Path) -> None:
    path = tmp_path / "photo.dng"
    path.write_bytes(b"II*\0" + bytes(100))
    with pytest.raises(PixelsmithError, match="read_raw"):
        read_image(path)


def test_pixel_limit_from_argument_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "img.png"
    Image.fromarray(_rgb()).save(path)
    with pytest.raises(PixelsmithError, match="over the limit of 100") as err:
        read_image(path, max_pixels=100)
    _one_line_naming(err, path)
    assert read_image(path, max_pixels=H * W)[0].shape == (3, H, W)
    monkeypatch.setenv("PIXELSMITH_MAX_PIXELS", "500")
    with pytest.raises(PixelsmithError, match="over the limit of 500"):
        read_image(path)
    assert read_image(path, max_pixels=H * W)[0].shape == (3, H, W)  # the argument wins
    monkeypatch.setenv("PIXELSMITH_MAX_PIXELS", "lots")
    with pytest.raises(PixelsmithError, match="PIXELSMITH_MAX_PIXELS"):
        read_image(path)


def test_crafted_bomb_header_refused_before_decoding(tmp_path: Path) -> None:
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    path = tmp_path / "bomb.png"
    idat = zlib.compress(bytes(100_000 * 3 + 1) * 4)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )
    pillow_limit = Image.MAX_IMAGE_PIXELS
    with pytest.raises(PixelsmithError, match="100000x100000.*decompression bomb") as err:
        read_image(path)
    _one_line_naming(err, path)
    assert Image.MAX_IMAGE_PIXELS == pillow_limit  # Pillow's own limit is restored


def test_pillow_bomb_errors_become_ours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "img.png"
    Image.fromarray(_rgb()).save(path)

    def bomb(*args: object) -> None:
        raise Image.DecompressionBombError("Image size (1 pixels) exceeds limit")

    monkeypatch.setattr(read_module, "_decode", bomb)
    with pytest.raises(PixelsmithError, match="too large") as err:
        read_image(path)
    _one_line_naming(err, path)


def _grey_tiff(tmp_path: Path) -> bytes:
    path = tmp_path / "grey.tif"
    Image.fromarray((_u16(5, (H, W)) >> 8).astype("uint8")).save(path)
    return path.read_bytes()


def test_damaged_tiffs_give_one_clear_error(tmp_path: Path) -> None:
    """Bytes of a TIFF's header and tags changed at random (a fixed seed): each file reads or is
    refused with a PixelsmithError, never another exception (Pillow and tifffile raise
    IndexError, TypeError and more on such files)."""
    import random

    good = _grey_tiff(tmp_path)
    rng = random.Random(7)
    refused = 0
    for i in range(120):
        data = bytearray(good)
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(4, 160)] = rng.randrange(256)
        path = tmp_path / f"damaged{i}.tif"
        path.write_bytes(bytes(data))
        try:
            read_image(path)
        except PixelsmithError as e:
            assert "\n" not in str(e) and str(path) in str(e)
            refused += 1
    assert refused > 10  # the damage is real: many are refused


def test_tiff_whose_first_page_is_past_its_end(tmp_path: Path) -> None:
    data = bytearray(_grey_tiff(tmp_path))
    data[4:8] = struct.pack("<I", len(data) + 1000)  # the first page's offset, past the end
    path = tmp_path / "nopage.tif"
    path.write_bytes(bytes(data))
    with pytest.raises(PixelsmithError) as err:
        read_image(path)
    _one_line_naming(err, path)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        (lambda a: a * 255, r"span \[0, 2[0-9.]*\].*8-bit levels"),  # 0..255 stored as floats
        (lambda a: a * 4, r"span \[0, [34][0-9.]*\]"),  # an HDR-like range
        (lambda a: np.where(a > 0.5, np.nan, a), "NaN or infinite"),
    ],
)
def test_float_tiff_outside_unit_range_is_refused_not_clipped(
    tmp_path: Path, values: Callable, match: str
) -> None:
    """A float TIFF is read as [0, 1]; one far outside it (or with NaN) is refused instead of
    being clipped to a white or black photo, as the Python API refuses such arrays. Grey is
    Pillow's mode F; colour goes through the tifffile reader."""
    import tifffile

    unit = np.linspace(0, 1, H * W, dtype=np.float32).reshape(H, W)
    grey = tmp_path / "grey_f.tif"
    Image.fromarray(values(unit).astype(np.float32), mode="F").save(grey)
    colour = tmp_path / "colour_f.tif"
    tifffile.imwrite(colour, np.stack([values(unit)] * 3, -1).astype(np.float32), photometric="rgb")
    for path in (grey, colour):
        with pytest.raises(PixelsmithError, match=match) as err:
            read_image(path)
        _one_line_naming(err, path)
    # within [0, 1]: read as stored
    tifffile.imwrite(colour, np.stack([unit] * 3, -1), photometric="rgb")
    image, _ = read_image(colour)
    np.testing.assert_allclose(image[1].numpy(), unit, atol=1e-6)


def test_float_tiff_overshoot_of_an_export_is_clipped_not_refused(tmp_path: Path) -> None:
    """A 32-bit export's ringing and highlights a little outside [0, 1] are clipped to it."""
    values = np.linspace(-0.02, 1.03, H * W, dtype=np.float32).reshape(H, W)
    path = tmp_path / "overshoot.tif"
    Image.fromarray(values, mode="F").save(path)
    image, _ = read_image(path)
    np.testing.assert_allclose(image[0].numpy(), values.clip(0, 1), atol=1e-6)
