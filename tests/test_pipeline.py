"""The Pipeline every front end builds, the inputs each task declares, and the files engine's
rule: only a file that carries pixelsmith's mark is an earlier result; every file the user named
is an input and never an output."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import pixelsmith
from pixelsmith.batch import run_tree
from pixelsmith.cli import main
from pixelsmith.commands.run import run_command
from pixelsmith.errors import PixelsmithError
from pixelsmith.io.mark import read_mark
from pixelsmith.pipeline import Pipeline
from pixelsmith.tasks import TASKS, task_class

BICUBIC_RUN = ["--model", "bicubic", "--opt", "scale=2", "-q"]


def _photo(path: Path, seed: int, size: tuple[int, int] = (24, 32)) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
    return path


def _hole(path: Path, size: tuple[int, int] = (24, 32)) -> Path:
    m = np.zeros(size, np.uint8)
    m[6:14, 8:20] = 255
    Image.fromarray(m).save(path)
    return path


def _stamp(p: Path) -> tuple[int, int, bytes]:
    st = p.stat()
    return st.st_ino, st.st_mtime_ns, p.read_bytes()


# --- the Pipeline ----------------------------------------------------------------------------
def test_a_pipeline_loaded_once_gives_what_the_api_gives_for_each_photo(tmp_path):
    pipe = Pipeline.load("superres", "bicubic", scale=2, device="cpu")
    for seed in (1, 2):
        img = np.random.default_rng(seed).integers(0, 256, (20, 28, 3), dtype=np.uint8)
        got = pipe(img)
        want = pixelsmith.upscale(img, scale=2, model="bicubic")
        assert got.shape == (40, 56, 3) and got.dtype == np.uint8
        np.testing.assert_array_equal(got, want)
    assert pipe.task.name == "superres" and pipe.model_name == "bicubic"


def test_each_task_declares_its_inputs_and_the_pipeline_checks_them():
    declared = {name: task_class(name).inputs for name in TASKS}
    assert declared["inpaint"] == ("image", "mask")
    assert declared["develop"] == ("raw",)
    assert declared["classify"] == ()
    assert declared["superres"] == declared["colorize"] == declared["lowlight"] == ("image",)
    pipe = Pipeline.load("superres", "bicubic", scale=2, device="cpu")
    with pytest.raises(TypeError, match="takes nothing beside the photo, not 'mask'"):
        pipe(torch.rand(3, 8, 8), mask=torch.zeros(1, 8, 8))
    with pytest.raises(PixelsmithError, match="does not restore images"):
        Pipeline.load("classify")


def test_the_mask_is_a_per_photo_input_not_an_option(tmp_path):
    from dataclasses import fields

    assert "mask" not in {f.name for f in fields(task_class("inpaint"))}
    pipe = Pipeline.load("inpaint", "telea", device="cpu")
    img = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    hole = np.zeros((24, 32), np.uint8)
    hole[6:14, 8:20] = 255
    out = pipe(img, mask=hole)
    np.testing.assert_array_equal(out[hole == 0], img[hole == 0])  # known pixels kept exactly
    assert np.abs(out[hole > 0].astype(int) - img[hole > 0]).max() > 0
    # two photos, two masks, one pipeline
    other = np.zeros_like(hole)
    other[0:4, 0:4] = 255
    out2 = pipe(img, mask=other)
    np.testing.assert_array_equal(out2[other == 0], img[other == 0])


def test_with_options_shares_the_network_and_refuses_another_network():
    pipe = Pipeline.load("colorize", "colorunet", device="cpu", backend="torch")
    mode = pipe.with_options(decoding="mode")
    assert mode.net is pipe.net and mode.task.decoding == "mode"
    grey = torch.rand(1, 32, 32)
    assert not torch.equal(mode(grey), pipe(grey))
    sr = Pipeline.load("superres", "bicubic", scale=2, device="cpu")
    with pytest.raises(ValueError, match="another network"):
        sr.with_options(scale=3)


def test_every_result_carries_a_mark_that_says_what_made_it(tmp_path):
    src = _photo(tmp_path / "p.png", 0)
    report = pixelsmith.restore_files(str(src), "superres", "bicubic", scale=2, device="cpu")
    (dst,) = report.done
    mark = read_mark(dst)
    assert mark["task"] == "superres" and mark["model"] == "bicubic"
    assert mark["options"]["scale"] == 2
    import hashlib

    assert mark["input"] == hashlib.sha256(src.read_bytes()).hexdigest()[:16]
    assert mark["version"] == pixelsmith.__version__


# --- files the user named are inputs ---------------------------------------------------------
def test_a_users_photo_named_like_a_result_is_never_replaced(tmp_path):
    """A folder with a.png and the user's own a_x2.png: --overwrite replaced a_x2.png."""
    folder = tmp_path / "shots"
    _photo(folder / "a.png", 1)
    mine = _photo(folder / "a_x2.png", 2)
    before = _stamp(mine)
    r = CliRunner().invoke(
        main, ["upscale", str(folder), "--scale", "2", "--model", "bicubic", "--overwrite"]
    )
    assert r.exit_code == 1, r.output
    assert "a_x2.png" in r.stderr and "is an input" in r.stderr
    assert _stamp(mine) == before
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "a_x2.png"]  # nothing written


def test_an_earlier_result_in_the_folder_is_left_out_and_replaced_with_overwrite(tmp_path):
    folder = tmp_path / "shots"
    _photo(folder / "a.png", 1)
    args = ["upscale", str(folder), "--scale", "2", "--model", "bicubic"]
    assert CliRunner().invoke(main, args).exit_code == 0
    r = CliRunner().invoke(main, [*args, "--overwrite"])
    assert r.exit_code == 0, r.output
    assert "a_x2.png is an earlier result, not an input" in r.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "a_x2.png"]


def test_overwrite_never_replaces_the_mask_nor_a_file_pixelsmith_did_not_write(tmp_path):
    photo, mask = _photo(tmp_path / "p.png", 3), _hole(tmp_path / "m.png")
    before = _stamp(mask)
    base = ["inpaint", str(photo), "--mask", str(mask), "--model", "telea"]
    r = CliRunner().invoke(main, [*base, "--out", str(mask), "--overwrite"])
    assert r.exit_code == 1 and "is an input" in r.stderr, r.output
    assert _stamp(mask) == before
    foreign = _photo(tmp_path / "theirs.png", 4)
    r = CliRunner().invoke(main, [*base, "--out", str(foreign), "--overwrite"])
    assert r.exit_code == 1 and "not written by pixelsmith" in r.stderr, r.output
    r = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "ok.png")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "ok.png"), "--overwrite"])
    assert r.exit_code == 0, r.output  # its own earlier result: replaced


def test_restore_files_takes_one_path_as_a_string(tmp_path, monkeypatch):
    _photo(tmp_path / "photo.png", 5)
    monkeypatch.chdir(tmp_path)
    report = pixelsmith.restore_files("./photo.png", "superres", "bicubic", scale=2)
    assert [p.name for p in report.done] == ["photo_x2.png"] and not report.failed


# --- resuming a tree -------------------------------------------------------------------------
def _tree(src: Path, n: int = 4) -> list[Path]:
    return [_photo(src / f"d{i % 2}" / f"p{i}.png", 10 + i) for i in range(n)]


def _run(src: Path, out: Path, *args: str):
    return CliRunner().invoke(run_command, ["superres", str(src), str(out), *args])


def test_a_run_with_another_model_redoes_what_the_first_made(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _tree(src)
    r = _run(src, out, *BICUBIC_RUN)
    assert r.exit_code == 0 and "4 done, 0 skipped" in r.stderr, r.output
    r = _run(src, out, *BICUBIC_RUN)
    assert "0 done, 4 skipped" in r.stderr
    r = _run(src, out, "--opt", "scale=2", "-q", "--backend", "torch")  # the default model
    assert r.exit_code == 0 and "4 done, 0 skipped" in r.stderr, r.output
    assert {read_mark(p)["model"] for p in out.rglob("*.png")} == {"lrnet_s.x2"}
    records = sorted(out.glob("pixelsmith-run.*.json"))
    assert len(records) == 3  # each run's record is kept
    assert [json.loads(p.read_text())["done"] for p in records] == [4, 0, 4]


def test_a_replaced_input_and_a_truncated_result_are_redone(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    photos = _tree(src)
    assert _run(src, out, *BICUBIC_RUN).exit_code == 0
    results = sorted(out.rglob("*.png"))
    _photo(photos[0], 99)  # another photo under the same name
    cut = results[-1]
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])  # a copy cut short
    r = _run(src, out, *BICUBIC_RUN)
    assert r.exit_code == 0 and "2 done, 2 skipped" in r.stderr, r.output
    want = pixelsmith.upscale(str(photos[0]), scale=2, model="bicubic")
    with Image.open(out / "d0" / "p0_x2.png") as im:
        got = torch.from_numpy(np.array(im.convert("RGB"))).permute(2, 0, 1)
    assert torch.equal(got, (want.clamp(0, 1) * 255).round().byte())
    with Image.open(cut) as im:
        im.load()  # whole again


def test_a_file_pixelsmith_did_not_write_at_an_outputs_name_fails_and_is_kept(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _tree(src)
    theirs = _photo(out / "d0" / "p0_x2.png", 7)
    before = _stamp(theirs)
    r = _run(src, out, *BICUBIC_RUN, "--overwrite")
    assert r.exit_code == 1 and "3 done, 0 skipped, 1 failed" in r.stderr, r.output
    assert "not written by pixelsmith" in r.stderr
    assert _stamp(theirs) == before


def test_a_missing_mask_is_one_error_before_any_work(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _tree(src)
    with pytest.raises(PixelsmithError, match="the mask: file not found") as e:
        run_tree("inpaint", src, out, "telea", inputs={"mask": tmp_path / "missing.png"})
    assert Path(e.value.path) == tmp_path / "missing.png"
    assert not out.exists()


def test_a_mask_for_every_photo_of_a_tree(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    photos = _tree(src)
    mask = _hole(tmp_path / "hole.png")
    report = run_tree("inpaint", src, out, "telea", inputs={"mask": mask}, device="cpu")
    assert len(report.done) == 4 and not report.failed
    again = run_tree("inpaint", src, out, "telea", inputs={"mask": mask}, device="cpu")
    assert len(again.skipped) == 4
    _hole(mask, size=(24, 32))
    m = np.asarray(Image.open(mask)).copy()
    m[0:2, 0:2] = 255  # another hole: every result is redone
    Image.fromarray(m).save(mask)
    third = run_tree("inpaint", src, out, "telea", inputs={"mask": mask}, device="cpu")
    assert len(third.done) == 4
    assert os.path.exists(photos[0])


def test_a_boolean_mask_is_a_hole_where_true():
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    hole = np.zeros((32, 32), bool)
    hole[5:10, 5:12] = True
    for mask in (hole, torch.from_numpy(hole)):
        out = pixelsmith.inpaint(img, mask, model="telea")
        changed = (out != img).any(axis=2)
        assert changed[hole].any() and not changed[~hole].any()


def test_restore_file_with_overwrite_never_replaces_a_file_without_a_mark(tmp_path):
    src, mine = _photo(tmp_path / "p.png", 1), _photo(tmp_path / "mine.png", 2)
    before = _stamp(mine)
    pipe = Pipeline.load("superres", "bicubic", scale=2, device="cpu")
    with pytest.raises(PixelsmithError, match="not written by pixelsmith"):
        pipe.restore_file(src, mine, overwrite=True)
    assert _stamp(mine) == before
    ours = pipe.restore_file(src, tmp_path / "ours.png")
    pipe.restore_file(src, ours, overwrite=True)  # its own result: replaced


def test_bfloat16_results_are_not_taken_for_float32_ones(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _tree(src, 2)
    kw = {"scale": 2, "device": "cpu", "backend": "torch"}
    assert len(run_tree("superres", src, out, "lrnet", **kw).done) == 2
    assert len(run_tree("superres", src, out, "lrnet", bf16=True, **kw).done) == 2
    assert {read_mark(p)["precision"] for p in out.rglob("*.png")} == {"bf16"}


def test_a_result_larger_than_the_read_limit_still_resumes(tmp_path, monkeypatch):
    src, out = tmp_path / "in", tmp_path / "out"
    _tree(src, 2)  # 24 x 32 photos: x2 results of 3072 pixels
    monkeypatch.setenv("PIXELSMITH_MAX_PIXELS", "1000")  # inputs read, results above it
    run_tree("superres", src, out, "bicubic", scale=2, device="cpu")
    again = run_tree("superres", src, out, "bicubic", scale=2, device="cpu")
    assert (len(again.done), len(again.skipped)) == (0, 2)


def test_an_unreadable_input_fails_alone_when_resuming(tmp_path, monkeypatch):
    import pixelsmith.io.mark as mark

    src, out = tmp_path / "in", tmp_path / "out"
    photos = _tree(src, 3)
    run_tree("superres", src, out, "bicubic", scale=2, device="cpu")
    digest = mark.file_digest

    def denied(path):  # what open() raises for a file of mode 000, for any user (root too)
        if Path(path) == photos[1]:
            raise PermissionError(13, "Permission denied", str(path))
        return digest(path)

    monkeypatch.setattr(mark, "file_digest", denied)
    report = run_tree("superres", src, out, "bicubic", scale=2, device="cpu")
    assert len(report.skipped) == 2 and len(report.failed) == 1
    assert "cannot read this file (permission denied)" in report.failed[0][1].lower()
