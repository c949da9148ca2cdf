"""Tests for list_images: files, folders and glob patterns."""

from __future__ import annotations

from pathlib import Path

import pytest
from io_helpers import _one_line_naming

from pixelsmith.errors import PixelsmithError
from pixelsmith.io import list_images


def test_list_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("b.png", "a.JPG", "c.tif", "notes.txt", "raw.dng"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.png").write_bytes(b"x")
    assert [p.name for p in list_images(tmp_path)] == ["a.JPG", "b.png", "c.tif"]
    assert [p.name for p in list_images(str(tmp_path / "*.png"))] == ["b.png"]
    assert [p.name for p in list_images([tmp_path / "**" / "*.png"])] == ["b.png", "d.png"]
    assert [p.name for p in list_images([tmp_path / "notes.txt", tmp_path])] == [
        "notes.txt",
        "a.JPG",
        "b.png",
        "c.tif",
    ]
    assert [p.name for p in list_images([tmp_path / "b.png", tmp_path])] == [
        "b.png",
        "a.JPG",
        "c.tif",
    ]
    assert [p.name for p in list_images(tmp_path, extensions={".dng"})] == ["raw.dng"]
    with pytest.raises(PixelsmithError, match="file not found") as err:
        list_images([tmp_path / "b.png", tmp_path / "gone.png"])
    _one_line_naming(err, tmp_path / "gone.png")
    with pytest.raises(PixelsmithError, match="no image files match"):
        list_images(str(tmp_path / "*.webp"))
    with pytest.raises(PixelsmithError, match="no image files in this folder"):
        list_images(tmp_path / "sub" / "..", extensions={".gif"})
    with pytest.raises(PixelsmithError, match="no input"):
        list_images([])
