"""The develop task: white balance, amplification and packing of hand-made raw frames in each
Bayer pattern, the colour matrix beside them (LibRaw's rgb_cam folded to 3x3, the typical one,
the 9 constant planes of the 13-channel input), orientation, the ratio's checks, tiled against whole development, training
batches, the measurement protocol (synthetic frames, the traditional pipeline, the noise
estimate), the API and CLI verbs, and the shared raw files."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import pixelsmith
from pixelsmith.cli import main
from pixelsmith.data import bayer
from pixelsmith.data.photos import PhotoFolder
from pixelsmith.errors import PixelsmithError
from pixelsmith.io.raw import RawImage
from pixelsmith.models import create_model, model_spec
from pixelsmith.models.unet import SIDUNet
from pixelsmith.tasks import get_task
from pixelsmith.tasks.develop import (
    Develop,
    amplified_input,
    check_ratio,
    colour_matrix,
    orient,
    raw_input,
    typical_colour_matrix,
    white_balance,
    with_camera,
)
from pixelsmith.tasks.develop_protocol import (
    eval_photo,
    evaluate_developer,
    frame_seed,
    noise_sigma,
    synthetic_raw,
    traditional,
)

WHITE = 16383


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: on two cores shared with other work, a second thread spins against it
    (ten times slower here). Results do not depend on it; conftest restores the count after."""
    torch.set_num_threads(1)


# --- helpers ----------------------------------------------------------------------------------
def _cfa(pattern: str) -> np.ndarray:
    """LibRaw's colour index per site for ``cfa_desc = "RGBG"``: 0 red, 2 blue, 1 the green on
    the red row, 3 the green on the blue row."""
    red_row = pattern.index("R") // 2
    index = [{"R": 0, "B": 2}.get(c, 1 if k // 2 == red_row else 3) for k, c in enumerate(pattern)]
    return np.array(index).reshape(2, 2)


def _raw(
    codes: torch.Tensor,
    pattern: str = "RGGB",
    black=(512, 512, 512, 512),
    wb=(2.0, 1.0, 1.5, 1.0),
    daylight=(1.0, 1.0, 1.0, 1.0),
    flip: int = 0,
    matrix=None,
) -> RawImage:
    return RawImage(
        path=Path("synthetic.dng"),
        bayer=codes.float(),
        cfa_pattern=_cfa(pattern),
        cfa_desc="RGBG",
        pattern_string=pattern,
        black_level_per_channel=list(black),
        black_level=float(np.mean(black)),
        white_level=WHITE,
        camera_wb=list(wb),
        daylight_wb=list(daylight),
        rgb_xyz_matrix=np.zeros((4, 3)),
        color_matrix=np.zeros((3, 4)) if matrix is None else np.array(matrix, np.float32),
        raw_type="Flat",
        flip=flip,
    )


def _random_raw(h: int, w: int, seed: int = 0, flip: int = 0) -> RawImage:
    g = torch.Generator().manual_seed(seed)
    return _raw((512 + 160 * torch.rand(h, w, generator=g)).round(), flip=flip)


def _tiny_unet() -> SIDUNet:
    """Three levels, widths 8..32: a receptive field of 47 packed pixels, so small frames tile.
    13 input channels: the packed Bayer (4) and the colour matrix (9)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return SIDUNet(13, 3, (8, 16, 32)).eval()


def _smooth_photo(h: int = 64, w: int = 96) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    return torch.stack(
        [0.2 + 0.5 * xx, 0.3 + 0.3 * torch.sin(3 * yy) ** 2, 0.6 - 0.4 * xx * yy]
    ).clamp(0, 1)


def _srgb_to_linear(x):
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def _inverse_smoothstep(y):
    return 0.5 - np.sin(np.arcsin(1 - 2 * y) / 3)


def _invoke(args: list[str]):
    return CliRunner().invoke(main, args)


def _one_line_error(r, name: str) -> str:
    assert r.exit_code == 1, (r.exit_code, r.output)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("pixelsmith: error: ") and name in lines[0], lines[0]
    return lines[0]


def _shared_raw(shared_data: Path, name: str) -> Path:
    p = shared_data / "raw" / name
    if not p.is_file():
        pytest.skip(f"needs ../shared/data/raw/{name}")
    return p


def _png_bit_depth(path: Path) -> int:
    """The bit depth byte of a PNG's IHDR chunk (Pillow reads 16-bit RGB as 8-bit)."""
    head = path.read_bytes()[:33]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return head[24]


@pytest.fixture(scope="module")
def sid_weights(tmp_path_factory) -> tuple[Path, torch.nn.Module]:
    """A random-weight sid_unet_s saved as a pixelsmith weight file (none are shipped yet)."""
    from pixelsmith.weights import WeightInfo, save_weights

    with torch.random.fork_rng():
        torch.manual_seed(1)
        model = create_model("sid_unet_s").eval()
    path = tmp_path_factory.mktemp("weights") / "sid_random.safetensors"
    save_weights(model, path, WeightInfo(task="develop", arch="sid_unet_s"))
    return path, model


# --- white balance, amplification, packing -----------------------------------------------------
def test_white_balance_in_packed_order_normalised_by_green():
    codes = torch.zeros(4, 4)
    assert white_balance(_raw(codes, wb=(2, 1, 1.5, 1))).tolist() == [2, 1, 1.5, 1]
    gains = white_balance(_raw(codes, wb=(1024, 512, 768, 512)))
    torch.testing.assert_close(gains, torch.tensor([2.0, 1.0, 1.5, 1.0]))
    # LibRaw leaves the second green at 0 when the file has one green multiplier
    gains = white_balance(_raw(codes, wb=(2.2, 1.1, 1.65, 0)))
    torch.testing.assert_close(gains, torch.tensor([2.0, 1.0, 1.5, 1.0]))
    # two greens that differ: their mean is the reference
    gains = white_balance(_raw(codes, wb=(2.1, 1.0, 1.4, 1.1)))
    torch.testing.assert_close(gains, torch.tensor([2.0, 1.0, 1.4 / 1.05, 1.0]))
    # no as-shot gains: daylight's; neither: none
    gains = white_balance(_raw(codes, wb=(0, 0, 0, 0), daylight=(2.4, 1.2, 1.8, 0)))
    torch.testing.assert_close(gains, torch.tensor([2.0, 1.0, 1.5, 1.0]))
    gains = white_balance(_raw(codes, wb=(0, 0, 0, 0), daylight=(0, 0, 0, 0)))
    assert gains.tolist() == [1, 1, 1, 1]


def test_amplified_input_multiplies_clips_at_one_then_applies_the_gains():
    packed = torch.tensor([0.001, 0.004, 0.02, 0.5]).view(1, 4, 1, 1)
    out = amplified_input(packed, 100.0, torch.tensor([2.0, 1.0, 1.5, 1.0]))
    # 0.1, 0.4, 2 -> 1, 50 -> 1; then x (2, 1, 1.5, 1): a gain may lift a clipped value above 1
    torch.testing.assert_close(out.flatten(), torch.tensor([0.2, 0.4, 1.5, 1.0]))
    # one ratio and one set of gains per image
    two = packed.expand(2, 4, 1, 1)
    gains = torch.tensor([[1.0, 1.0, 1.0, 1.0], [2.0, 1.0, 2.0, 1.0]])
    out = amplified_input(two, torch.tensor([10.0, 1000.0]), gains)
    torch.testing.assert_close(out[0].flatten(), torch.tensor([0.01, 0.04, 0.2, 1.0]))
    torch.testing.assert_close(out[1].flatten(), torch.tensor([2.0, 1.0, 2.0, 1.0]))


@pytest.mark.parametrize("pattern", ["RGGB", "BGGR", "GRBG", "GBRG"])
@pytest.mark.parametrize("size", [(8, 10), (9, 11)], ids=["even", "odd"])
def test_raw_input_packs_r_g1_b_g2_for_every_pattern(pattern, size):
    """Each site holds its colour's code plus a ramp over the quads; the packed channels must hold
    (code - black of that colour) / (white - black) x ratio, clipped at 1, x the colour's gain."""
    h, w = size
    base = {0: 1000.0, 1: 2000.0, 2: 3000.0, 3: 4000.0}  # per colour index (R, G1, B, G2)
    black = (500, 510, 520, 530)
    cfa = _cfa(pattern)
    codes = torch.tensor(
        [
            [base[int(cfa[y % 2, x % 2])] + 10 * (y // 2) + x // 2 for x in range(w)]
            for y in range(h)
        ]
    )
    matrix = [[1.5, -0.25, -0.5, 0.125], [-0.2, 1.25, -0.3, 0.0625], [0.0, -0.4, 1.75, -0.5]]
    raw = _raw(codes, pattern, black=black, wb=(2.0, 1.0, 1.5, 1.0), matrix=matrix)
    assert bayer.pattern_of(raw) == pattern
    ratio = 8.0
    out = raw_input(raw, ratio)
    assert out.shape == (1, 13, h // 2, w // 2)  # an odd last row / column is dropped
    gains = (2.0, 1.0, 1.5, 1.0)
    yy, xx = np.meshgrid(np.arange(h // 2), np.arange(w // 2), indexing="ij")
    for k in range(4):  # R, G1, B, G2 are colour indices 0..3 here
        norm = (base[k] + 10 * yy + xx - black[k]) / (WHITE - black[k])
        expected = np.minimum(norm * ratio, 1.0) * gains[k]
        np.testing.assert_allclose(out[0, k].numpy(), expected, rtol=1e-5)
    # the values straddle the clip: R below it, G2 and B above it
    assert (
        float(out[0, 0].max()) < 1 and float(out[0, 3].min()) == 1 and float(out[0, 2].min()) == 1.5
    )
    # then the colour matrix, row-major, the second green's column added to the green's
    folded = [1.5, -0.25 + 0.125, -0.5, -0.2, 1.25 + 0.0625, -0.3, 0.0, -0.4 - 0.5, 1.75]
    for k, v in enumerate(folded):
        torch.testing.assert_close(out[0, 4 + k], torch.full((h // 2, w // 2), v))


# --- the colour matrix ------------------------------------------------------------------------
def _typical_by_hand() -> np.ndarray:
    """The inverse of the equal mix of the training cameras' XYZ matrices times sRGB's, rows
    normalised to sum 1, in float64."""
    from pixelsmith.data.unprocess import CAMERA_FROM_XYZ, XYZ_FROM_LINEAR_SRGB

    mix = np.mean([np.array(m, np.float64) for m in CAMERA_FROM_XYZ.values()], axis=0)
    ccm = mix @ np.array(XYZ_FROM_LINEAR_SRGB, np.float64)
    ccm = ccm / ccm.sum(axis=1, keepdims=True)
    return np.linalg.inv(ccm)


def test_colour_matrix_folds_the_second_green_into_green():
    m = [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0]]
    out = colour_matrix(_raw(torch.zeros(4, 4), matrix=m))  # cfa_desc "RGBG"
    assert out.shape == (3, 3) and out.dtype == torch.float32
    assert out.tolist() == [[1, 2 + 4, 3], [5, 6 + 8, 7], [9, 10 + 12, 11]]
    # LibRaw's files have a zero 4th column: the first three are the matrix
    m3 = [[1.5, -0.25, -0.25, 0.0], [-0.125, 1.25, -0.125, 0.0], [0.0, -0.5, 1.5, 0.0]]
    assert colour_matrix(_raw(torch.zeros(4, 4), matrix=m3)).tolist() == [r[:3] for r in m3]


def test_colour_matrix_reads_the_columns_by_the_colour_names():
    """The columns are per colour index, named by cfa_desc: with "GRBG" index 0 is green, 1
    red, 2 blue, 3 the second green."""
    m = [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0]]
    raw = dataclasses.replace(_raw(torch.zeros(4, 4), matrix=m), cfa_desc="GRBG")
    assert colour_matrix(raw).tolist() == [[2, 1 + 4, 3], [6, 5 + 8, 7], [10, 9 + 12, 11]]


def test_the_colour_indices_numbering_does_not_change_the_input():
    """One frame described with LibRaw's "RGBG" and with its indices renumbered ("GBGR": old
    index i is new index perm[i]) gives the same network input."""
    g = torch.Generator().manual_seed(5)
    codes = (600 + 3000 * torch.rand(8, 12, generator=g)).round()
    black, wb = (500, 510, 520, 530), (2.0, 1.0, 1.5, 1.0)
    m = [[1.5, -0.25, -0.5, 0.125], [-0.2, 1.25, -0.3, 0.0625], [0.0, -0.4, 1.75, -0.5]]
    a = _raw(codes, "GBRG", black=black, wb=wb, matrix=m)
    perm = [3, 0, 1, 2]  # R -> 3, G1 -> 0, B -> 1, G2 -> 2
    new = [0] * 4
    for i, j in enumerate(perm):
        new[j] = i  # the old index of each new one
    b = dataclasses.replace(
        a,
        cfa_pattern=np.array(perm)[a.cfa_pattern],
        cfa_desc="".join("RGBG"[i] for i in new),
        black_level_per_channel=[black[i] for i in new],
        camera_wb=[wb[i] for i in new],
        color_matrix=np.array(m, np.float32)[:, new],
    )
    assert b.cfa_desc == "GBGR" and bayer.pattern_of(b) == "GBRG"
    torch.testing.assert_close(colour_matrix(b), colour_matrix(a), rtol=0, atol=0)
    torch.testing.assert_close(raw_input(b, 4.0), raw_input(a, 4.0), rtol=0, atol=0)


def test_a_file_without_a_colour_matrix_gets_the_typical_one():
    typical = typical_colour_matrix()
    assert typical.shape == (3, 3) and typical.dtype == torch.float32
    torch.testing.assert_close(colour_matrix(_raw(torch.zeros(4, 4))), typical, rtol=0, atol=0)
    out = raw_input(_raw(torch.full((4, 6), 600.0)), 10.0)
    torch.testing.assert_close(out[0, 4:, 1, 2], typical.flatten(), rtol=0, atol=0)


def test_typical_colour_matrix_is_the_inverse_of_the_mean_camera():
    typical = typical_colour_matrix().double().numpy()
    np.testing.assert_allclose(typical, _typical_by_hand(), rtol=0, atol=1e-6)
    # the inverse of a matrix whose rows sum to 1 has rows that sum to 1: white stays white
    np.testing.assert_allclose(typical.sum(1), np.ones(3), rtol=0, atol=1e-6)
    assert np.abs(typical - np.eye(3)).max() > 0.1  # a real colour correction


def test_with_camera_appends_the_matrix_as_constant_planes():
    g = torch.Generator().manual_seed(0)
    packed = torch.rand(2, 4, 3, 5, generator=g)
    m = torch.arange(9.0).view(3, 3) / 10 - 0.3  # entries -0.3 .. 0.5, row-major
    out = with_camera(packed, m)
    assert out.shape == (2, 13, 3, 5) and out.dtype == torch.float32
    assert torch.equal(out[:, :4], packed)
    for k, v in enumerate([-0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5]):
        torch.testing.assert_close(out[:, 4 + k], torch.full((2, 3, 5), v))  # both samples
    # one matrix per sample goes to its own sample; the planes take the packed dtype
    per = torch.stack([m, 2 * m + 1])
    out = with_camera(packed.double(), per)
    assert out.shape == (2, 13, 3, 5) and out.dtype == torch.float64
    assert torch.equal(out[:, :4], packed.double())
    for k in range(9):
        v = -0.3 + 0.1 * k  # the first sample's entry; the second's is 2 v + 1
        for n, want in ((0, v), (1, 2 * v + 1)):
            ref = torch.full((3, 5), want, dtype=torch.float64)
            torch.testing.assert_close(out[n, 4 + k], ref, rtol=0, atol=1e-6)


# --- orientation ------------------------------------------------------------------------------
def test_orient_by_hand():
    a = torch.tensor([[1, 2, 3], [4, 5, 6]])
    assert orient(a, 0).tolist() == [[1, 2, 3], [4, 5, 6]]
    assert orient(a, 3).tolist() == [[6, 5, 4], [3, 2, 1]]  # 180 degrees
    assert orient(a, 5).tolist() == [[3, 6], [2, 5], [1, 4]]  # 90 degrees counter-clockwise
    assert orient(a, 6).tolist() == [[4, 1], [5, 2], [6, 3]]  # 90 degrees clockwise
    x = torch.arange(2 * 3 * 4).view(2, 3, 4)  # leading dimensions ride along
    np.testing.assert_array_equal(orient(x, 5).numpy(), np.rot90(x.numpy(), 1, axes=(1, 2)))
    np.testing.assert_array_equal(orient(x, 6).numpy(), np.rot90(x.numpy(), -1, axes=(1, 2)))


def test_develop_applies_the_files_orientation():
    model = _tiny_unet()
    upright = pixelsmith.develop_raw(_random_raw(32, 48), ratio=50, model=model, tile=0)
    assert upright.shape == (3, 32, 48) and upright.dtype == torch.float32
    for flip, k, shape in ((3, 2, (3, 32, 48)), (5, 1, (3, 48, 32)), (6, -1, (3, 48, 32))):
        out = pixelsmith.develop_raw(_random_raw(32, 48, flip=flip), ratio=50, model=model, tile=0)
        assert out.shape == shape
        ref = np.rot90(upright.numpy(), k, axes=(1, 2))
        np.testing.assert_allclose(out.numpy(), ref, rtol=0, atol=1e-6)


# --- the ratio --------------------------------------------------------------------------------
@pytest.mark.parametrize("ratio", [0, -1, float("nan"), float("inf"), "100"])
def test_a_ratio_that_is_not_a_positive_number_is_an_error(ratio):
    with pytest.raises(PixelsmithError, match="ratio"):
        check_ratio(ratio)
    with pytest.raises(PixelsmithError, match="ratio"):
        pixelsmith.develop_raw(_random_raw(32, 32), ratio=ratio, model=_tiny_unet())


def test_a_good_ratio_passes():
    assert check_ratio(100) == 100.0 and isinstance(check_ratio(100), float)
    assert get_task("develop", ratio=250).ratio == 250
    with pytest.raises(PixelsmithError, match="ratio"):
        get_task("develop", ratio=-3)


@pytest.mark.parametrize("ratio", ["0", "-5", "nan", "inf"])
def test_cli_develop_refuses_a_bad_ratio_in_one_line(tmp_path, ratio):
    raw = tmp_path / "frame.dng"
    raw.write_bytes(b"not read: the ratio is checked first")
    r = _invoke(["develop", str(raw), "--ratio", ratio])
    _one_line_error(r, "ratio")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frame.dng"]


@pytest.mark.parametrize(
    "verb", [["develop"], ["eval", "develop"], ["train", "develop"]], ids=" ".join
)
def test_develop_verbs_have_help(verb):
    r = _invoke([*verb, "--help"])
    assert r.exit_code == 0 and "Usage:" in r.output


# --- inputs that are not raw frames -------------------------------------------------------------
def test_develop_raw_refuses_what_is_not_a_raw_frame(tmp_path):
    png = tmp_path / "photo.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(png)
    with pytest.raises(PixelsmithError, match="photo.png"):
        pixelsmith.develop_raw(png, model=_tiny_unet())
    with pytest.raises(TypeError, match="RawImage"):
        pixelsmith.develop_raw(np.zeros((16, 16), np.float32), model=_tiny_unet())
    with pytest.raises(PixelsmithError, match="packed Bayer"):
        pixelsmith.develop_raw(_random_raw(32, 32), model=create_model("lowlight_unet"))
    # a U-Net of the paper's 4 channels is not told the camera
    with pytest.raises(PixelsmithError, match="13 channels"):
        pixelsmith.develop_raw(_random_raw(32, 32), model=SIDUNet(4, 3, (8, 16, 32)).eval())


def test_cli_develop_refuses_a_png_in_one_line(tmp_path, sid_weights):
    png = tmp_path / "photo.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(png)
    r = _invoke(["develop", str(png), "--model", str(sid_weights[0])])
    _one_line_error(r, "photo.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]


@pytest.mark.data
def test_cli_develop_refuses_a_stacked_nef_in_one_line(shared_data, tmp_path, sid_weights):
    nef = _shared_raw(shared_data, "Nikon_uncompressed.nef")
    r = _invoke(["develop", str(nef), "--model", str(sid_weights[0]), "--out", str(tmp_path)])
    line = _one_line_error(r, "Nikon_uncompressed.nef")
    assert "not a Bayer mosaic" in line
    assert list(tmp_path.iterdir()) == []


# --- tiling -----------------------------------------------------------------------------------
def test_sid_unet_tiled_equals_whole_and_gives_the_even_size():
    with torch.random.fork_rng():
        torch.manual_seed(2)
        model = create_model("sid_unet_s").eval()
    raw = _random_raw(160, 224)
    whole = pixelsmith.develop_raw(raw, ratio=100, model=model, tile=0)
    tiled = pixelsmith.develop_raw(raw, ratio=100, model=model, tile=64)
    assert whole.shape == tiled.shape == (3, 160, 224)
    scale = float(whole.abs().max())
    assert scale > 0
    torch.testing.assert_close(tiled, whole, rtol=0, atol=1e-5 * scale)


def test_an_odd_frame_loses_its_last_row_and_column():
    model = _tiny_unet()
    odd = _random_raw(65, 97, seed=4)
    even = dataclasses.replace(odd, bayer=odd.bayer[:64, :96].contiguous())
    out = pixelsmith.develop_raw(odd, ratio=100, model=model, tile=0)
    assert out.shape == (3, 64, 96)
    ref = pixelsmith.develop_raw(even, ratio=100, model=model, tile=0)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-6)


def test_a_small_unet_tiles_a_frame_into_many_windows_with_the_whole_result():
    model = _tiny_unet()
    shapes = []
    hook = model.register_forward_pre_hook(lambda m, inp: shapes.append(tuple(inp[0].shape)))
    raw = _random_raw(256, 256, seed=3)
    try:
        tiled = pixelsmith.develop_raw(raw, ratio=100, model=model, tile=32)
        assert (
            shapes[0][0] > 1 and shapes[0][-1] < 128
        )  # several windows, each smaller than the grid
        whole = pixelsmith.develop_raw(raw, ratio=100, model=model, tile=0)
    finally:
        hook.remove()
    assert tiled.shape == (3, 256, 256)
    assert float(whole.std()) > 1e-3
    torch.testing.assert_close(tiled, whole, rtol=0, atol=1e-5 * float(whole.abs().max()))


# --- training batches -------------------------------------------------------------------------
def _photos(n: int = 2, side: int = 48, seed: int = 0) -> PhotoFolder:
    rng = np.random.default_rng(seed)
    images = [
        torch.from_numpy(rng.integers(0, 256, (3, side, side), dtype=np.uint8)) for _ in range(n)
    ]
    return PhotoFolder.from_images(images, [Path(f"p{i}.png") for i in range(n)])


def _constant_photo(rgb) -> PhotoFolder:
    img = torch.tensor(rgb, dtype=torch.uint8).view(3, 1, 1).expand(3, 48, 48).contiguous()
    return PhotoFolder.from_images([img], [Path("flat.png")])


def test_make_batch_shapes_and_determinism():
    task, photos = Develop(), _photos()
    a = task.make_batch(photos, 3, 32, torch.Generator().manual_seed(0))
    b = task.make_batch(photos, 3, 32, torch.Generator().manual_seed(0))
    c = task.make_batch(photos, 3, 32, torch.Generator().manual_seed(1))
    assert a.inputs[0].shape == (3, 13, 16, 16) and a.target.shape == (3, 3, 32, 32)
    assert torch.equal(a.inputs[0], b.inputs[0]) and torch.equal(a.target, b.target)
    assert not torch.equal(a.inputs[0], c.inputs[0])
    assert (
        float(a.inputs[0][:, :4].min()) >= 0
        and 0 <= float(a.target.min()) <= float(a.target.max()) <= 1
    )
    # each sample's camera is its own: the planes are constant, and differ between samples
    planes = a.inputs[0][:, 4:]
    assert torch.equal(planes, planes[:, :, :1, :1].expand_as(planes))
    assert not torch.equal(planes[0], planes[1])
    with pytest.raises(PixelsmithError, match="32"):
        task.load_data(["unused"], patch_size=48)


def _fixed_camera(monkeypatch, rgb_gain=1.25, red=2.0, blue=1.6, ccms=None):
    """Cameras known by hand (identity colour matrix, or ``ccms`` ``(k, 3, 3)`` camera from
    sRGB taken in turn), a ratio of 1 and negligible noise."""
    import pixelsmith.data.dark_frames as DF
    import pixelsmith.data.unprocess as U
    import pixelsmith.tasks.develop as D

    def cameras(n, g):
        ccm = torch.eye(3).expand(n, 3, 3) if ccms is None else ccms[torch.arange(n) % len(ccms)]
        return U.CameraParams(
            ccm=ccm.clone(),
            rgb_gain=torch.full((n,), rgb_gain),
            red_gain=torch.full((n,), red),
            blue_gain=torch.full((n,), blue),
        )

    monkeypatch.setattr(DF, "random_camera_params", cameras)
    monkeypatch.setattr(D, "TRAIN_RATIOS", (1.0, 1.0))
    monkeypatch.setattr(DF, "SHOT_NOISE", (1e-12, 1e-12))


COLOUR = (153, 102, 64)  # a flat colour, nowhere near the highlights


def _linear_camera(rgb) -> np.ndarray:
    """The camera signal of an sRGB colour with an identity colour matrix: the inverse tone curve
    and the sRGB EOTF, written out."""
    return _srgb_to_linear(_inverse_smoothstep(np.array(rgb) / 255.0))


def test_make_batch_packs_and_balances_consistently(monkeypatch):
    """Noise-free, at ratio 1: the packed input is the camera signal of the photo's colour in the
    order R, G1, B, G2, every channel by the same factor (the gains undo what unprocessing did)."""
    _fixed_camera(monkeypatch)
    batch = Develop().make_batch(_constant_photo(COLOUR), 2, 32, torch.Generator().manual_seed(0))
    lin = _linear_camera(COLOUR)
    expected = lin[[0, 1, 2, 1]]
    got = batch.inputs[0][:, :4].double().mean((0, 2, 3)).numpy()
    assert batch.inputs[0][:, :4].double().std((0, 2, 3)).max() < 1e-3  # flat
    factor = got / expected
    np.testing.assert_allclose(factor, factor[0], rtol=2e-3)


def test_make_batch_appends_each_samples_colour_matrix(monkeypatch):
    """The planes are each sample's linear sRGB from camera: the inverse of its camera matrix,
    here written out by hand."""
    ccms = torch.tensor(
        [
            [[2.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 0.5]],
            [[1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        ]
    )
    inverses = [
        [0.5, 0.0, 0.0, 0.0, 0.25, 0.0, 0.0, 0.0, 2.0],
        [1.0, -1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
    ]
    _fixed_camera(monkeypatch, ccms=ccms)
    batch = Develop().make_batch(_photos(), 3, 32, torch.Generator().manual_seed(0))
    x = batch.inputs[0]
    assert x.shape == (3, 13, 16, 16)
    for n, inverse in enumerate([*inverses, inverses[0]]):  # the cameras taken in turn
        for k, v in enumerate(inverse):
            torch.testing.assert_close(x[n, 4 + k], torch.full((16, 16), v), rtol=0, atol=1e-6)


def test_training_input_is_what_prepare_makes_of_the_same_frame(monkeypatch):
    _fixed_camera(monkeypatch)
    batch = Develop().make_batch(_constant_photo(COLOUR), 1, 32, torch.Generator().manual_seed(0))
    train = batch.inputs[0].double().mean((0, 2, 3)).numpy()
    photo = torch.tensor(COLOUR, dtype=torch.float32).view(3, 1, 1).expand(3, 32, 32) / 255
    raw, _ = synthetic_raw(photo, 1.0, seed=0)  # the same camera, as a raw file would hold it
    spec = model_spec(create_model("sid_unet_s"))
    infer = Develop(ratio=1.0).prepare(raw, spec).inputs[0].double().mean((0, 2, 3)).numpy()
    assert train.shape == infer.shape == (13,)
    # the develop task's cameras have no overall brightness gain (the ratio is the exposure), so
    # the white-balanced frame at ratio 1 is the camera signal itself
    hand = _linear_camera(COLOUR)[[0, 1, 2, 1]]
    np.testing.assert_allclose(infer[:4], hand, rtol=2e-3)  # inference: as the file says
    np.testing.assert_allclose(train[:4], infer[:4], rtol=2e-3)  # training should see the same
    # and both are told the same camera: the identity matrix
    np.testing.assert_allclose(infer[4:], np.eye(3).flatten(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(train[4:], infer[4:], rtol=0, atol=1e-6)


# --- the measurement protocol -------------------------------------------------------------------
def test_synthetic_raw_is_a_function_of_the_seed():
    photo = _smooth_photo(32, 48)
    a, pa = synthetic_raw(photo, 100, seed=7)
    b, pb = synthetic_raw(photo, 100, seed=7)
    c, pc = synthetic_raw(photo, 100, seed=8)
    assert torch.equal(a.bayer, b.bayer) and torch.equal(pa.ccm, pb.ccm)
    assert not torch.equal(a.bayer, c.bayer) and not torch.equal(pa.ccm, pc.ccm)
    assert a.bayer.shape == (32, 48) and bayer.pattern_of(a) == "RGGB"
    assert torch.equal(a.bayer, a.bayer.round())  # sensor codes
    assert float(a.bayer.min()) >= 0 and float(a.bayer.max()) <= WHITE
    # a ratio of 100 leaves the frame near black: codes a little above the black level
    assert 512 < float(a.bayer.mean()) < 512 + 0.02 * (WHITE - 512)


def test_synthetic_raw_holds_its_cameras_colour_matrix():
    photo = _smooth_photo(32, 32)
    raw, params = synthetic_raw(photo, 100, seed=11)
    srgb_from_camera = params.srgb_from_camera[0]
    assert raw.color_matrix.shape == (3, 4) and not raw.color_matrix[:, 3].any()
    torch.testing.assert_close(colour_matrix(raw), srgb_from_camera, rtol=0, atol=1e-6)
    # the inverse of the camera's matrix, checked by multiplying back
    eye = params.ccm[0].double() @ colour_matrix(raw).double()
    torch.testing.assert_close(eye, torch.eye(3, dtype=torch.float64), rtol=0, atol=1e-5)
    # and what prepare gives the network: the same 9 numbers, row-major, everywhere
    x = Develop(ratio=100).prepare(raw, model_spec(_tiny_unet())).inputs[0]
    assert x.shape == (1, 13, 16, 16)
    want = srgb_from_camera.flatten().view(9, 1, 1).expand(9, 16, 16)
    torch.testing.assert_close(x[0, 4:], want, rtol=0, atol=1e-6)


def test_traditional_pipeline_recovers_a_smooth_photo_without_noise(monkeypatch):
    from skimage.metrics import peak_signal_noise_ratio

    import pixelsmith.data.dark_frames as DF

    photo = _smooth_photo()
    truth = photo.double().numpy()

    def score(ratio):
        raw, params = synthetic_raw(photo, ratio, seed=3)
        out = traditional(raw, ratio, params)
        assert out.shape == photo.shape and 0 <= float(out.min()) <= float(out.max()) <= 1
        return peak_signal_noise_ratio(truth, out.double().numpy(), data_range=1.0)

    noisy = score(300)
    monkeypatch.setattr(DF, "SHOT_NOISE", (1e-12, 1e-12))
    assert score(1) > 45  # bilinear demosaicking of a smooth photo: nearly exact
    assert score(100) > 30  # and 14-bit quantisation at 1/100 of the signal
    assert noisy < score(300) - 5  # the protocol's noise is what makes it hard


def test_noise_sigma_reads_the_sigma_of_gaussian_noise():
    g = torch.Generator().manual_seed(0)
    for sigma in (0.01, 0.05):
        x = 0.5 + sigma * torch.randn(3, 128, 128, generator=g)
        assert abs(noise_sigma(x) - sigma) < 0.05 * sigma
    # a plane has no finest-scale diagonal detail
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    plane = (0.2 + 0.003 * yy + 0.002 * xx).expand(3, 64, 64)
    assert noise_sigma(plane) < 1e-6


def test_eval_photo_shrinks_and_cuts_to_multiples_of_32(tmp_path):
    p = tmp_path / "a.png"
    Image.fromarray(np.full((70, 100, 3), 90, np.uint8)).save(p)
    assert eval_photo(p).shape == (3, 64, 96)
    big = tmp_path / "big.png"
    Image.fromarray(np.full((600, 900, 3), 90, np.uint8)).save(big)
    assert eval_photo(big).shape == (3, 512, 768)  # short side 512, then cut


def test_evaluate_developer_gives_a_row_per_photo_ratio_and_method(tmp_path):
    from skimage.metrics import peak_signal_noise_ratio

    rng = np.random.default_rng(0)
    paths = []
    for name in ("a.png", "b.png"):
        p = tmp_path / name
        Image.fromarray(rng.integers(30, 220, (40, 70, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    task = Develop(ratio=100)
    rows = evaluate_developer(task, _tiny_unet(), paths, [100, 250], ("model", "traditional"))
    assert len(rows) == 8
    assert [(r["image"], r["ratio"], r["method"]) for r in rows[:4]] == [
        ("a.png", 100, "model"),
        ("a.png", 100, "traditional"),
        ("a.png", 250, "model"),
        ("a.png", 250, "traditional"),
    ]
    assert all(math.isfinite(r["psnr"]) and -1 <= r["ssim"] <= 1 for r in rows)
    # a traditional row, recomputed and scored by scikit-image
    row = rows[7]
    photo = eval_photo(paths[1])
    raw, params = synthetic_raw(photo, 250, frame_seed(1, 250))
    out = traditional(raw, 250, params).double().numpy()
    ref = peak_signal_noise_ratio(photo.double().numpy(), out, data_range=1.0)
    assert math.isclose(row["psnr"], ref, abs_tol=1e-6)
    means = task.evaluate(_tiny_unet(), paths)
    model_rows = [r for r in rows if r["method"] == "model" and r["ratio"] == 100]
    assert math.isclose(means["psnr"], np.mean([r["psnr"] for r in model_rows]), abs_tol=1e-6)


def test_cli_eval_develop_prints_the_protocols_metrics(tmp_path, sid_weights):
    """``eval develop`` prints what ``Develop.evaluate`` returns at --ratio (PSNR and SSIM);
    the traditional pipeline's rows are evaluate_developer's (tested above)."""
    d = tmp_path / "photos"
    d.mkdir()
    Image.fromarray(np.random.default_rng(1).integers(30, 220, (64, 64, 3), dtype=np.uint8)).save(
        d / "a.png"
    )
    r = _invoke(
        ["eval", "develop", "--data", str(d), "--ratio", "100", "--model", str(sid_weights[0])]
    )
    assert r.exit_code == 0, r.output
    header, row = r.output.splitlines()[1:3]
    assert header.split() == ["model", "psnr", "ssim"] and "ratio 100" in r.output
    assert row.split()[0] == sid_weights[0].name
    assert all(math.isfinite(float(v)) for v in row.split()[1:])


# --- the shared raw files ---------------------------------------------------------------------
@pytest.mark.data
def test_develop_a_real_raw_file(shared_data):
    from pixelsmith.io import read_raw

    kdc = _shared_raw(shared_data, "RAW_KODAK_DC50.KDC")
    with torch.random.fork_rng():
        torch.manual_seed(3)
        model = create_model("sid_unet_s").eval()
    out = pixelsmith.develop_raw(kdc, ratio=1, model=model, tile=0)
    raw = read_raw(kdc)
    h, w = raw.bayer.shape
    assert out.shape == (3, h - h % 2, w - w % 2) == (3, 512, 768)
    assert out.dtype == torch.float32 and 0 <= float(out.min()) <= float(out.max()) <= 1
    assert raw.flip == 0 and bayer.pattern_of(raw) == "GRBG"
    assert white_balance(raw).tolist() == [1, 1, 1, 1]  # the file's gains are all 1
    assert not raw.color_matrix.any()  # and it has no colour matrix: the typical one
    torch.testing.assert_close(colour_matrix(raw), typical_colour_matrix(), rtol=0, atol=0)
    # the file's orientation is applied: the same frame marked "rotate 90 clockwise"
    turned = pixelsmith.develop_raw(dataclasses.replace(raw, flip=6), ratio=1, model=model, tile=0)
    np.testing.assert_allclose(
        turned.numpy(), np.rot90(out.numpy(), -1, axes=(1, 2)), rtol=0, atol=1e-6
    )


@pytest.mark.data
def test_raw_input_of_a_real_file_carries_the_libraw_rgb_cam(shared_data):
    import rawpy

    from pixelsmith.io import read_raw

    dng = _shared_raw(shared_data, "Blackmagic.dng")
    with rawpy.imread(str(dng)) as r:
        rgb_cam = np.array(r.color_matrix, np.float64)
        desc = r.color_desc.decode()
    assert desc == "RGBG" and rgb_cam.shape == (3, 4)
    assert not rgb_cam[:, 3].any() and np.abs(rgb_cam[:, :3]).min() > 0.01
    raw = read_raw(dng)
    # the top-left 64 x 96 of the frame: the same file, the same matrix, a fraction of the work
    small = dataclasses.replace(raw, bayer=raw.bayer[:64, :96].contiguous())
    x = raw_input(small, 1.0)
    assert x.shape == (1, 13, 32, 48)
    for k in range(9):
        want = torch.full((32, 48), float(rgb_cam[k // 3, k % 3]))
        torch.testing.assert_close(x[0, 4 + k], want, rtol=0, atol=1e-6)


@pytest.mark.data
def test_cli_develop_writes_a_16_bit_png(shared_data, tmp_path, sid_weights):
    from pixelsmith.io import read_image

    kdc = _shared_raw(shared_data, "RAW_KODAK_DC50.KDC")
    path, model = sid_weights
    args = ["develop", str(kdc), "--ratio", "1", "--model", str(path), "--out", str(tmp_path)]
    r = _invoke([*args, "--tile", "0"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "RAW_KODAK_DC50_developed.png"
    assert out.is_file() and _png_bit_depth(out) == 16
    img, meta = read_image(out)
    assert meta.bit_depth == 16 and img.shape == (3, 512, 768)
    ref = pixelsmith.develop_raw(kdc, ratio=1, model=model, tile=0)
    torch.testing.assert_close(img, ref, rtol=0, atol=1 / 65535)


@pytest.mark.data
def test_cli_develop_refuses_a_result_over_the_pixel_limit_dng(shared_data, tmp_path, sid_weights):
    dng = _shared_raw(shared_data, "Blackmagic.dng")  # 4128 x 2176: 9 megapixels
    args = ["develop", str(dng), "--model", str(sid_weights[0]), "--out", str(tmp_path)]
    _one_line_error(_invoke([*args, "--max-output-pixels", "1000000"]), "Blackmagic.dng")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.data
def test_cli_develop_refuses_a_result_over_the_pixel_limit_kdc(shared_data, tmp_path, sid_weights):
    kdc = _shared_raw(shared_data, "RAW_KODAK_DC50.KDC")
    args = ["develop", str(kdc), "--model", str(sid_weights[0]), "--out", str(tmp_path)]
    r = _invoke([*args, "--ratio", "1", "--tile", "0", "--max-output-pixels", "100000"])
    assert list(tmp_path.iterdir()) == []
    _one_line_error(r, "RAW_KODAK_DC50.KDC")


# --- no ratio given: estimated from the frame ---------------------------------------------------
def _at_codes(codes: int, h: int = 32, w: int = 48) -> RawImage:
    """A flat frame ``codes`` above black: mean level ``codes / (WHITE - 512)``."""
    return _raw(torch.full((h, w), 512.0 + codes))


@pytest.mark.parametrize(
    "codes, expected",
    [  # 0.10 x (16383 - 512) / codes, clamped to 1 .. 300
        (16, 99.19375),
        (8, 198.3875),
        (1587, 1.0000630),
        (8000, 1.0),
        (1, 300.0),
    ],
)
def test_the_ratio_brings_the_mean_level_to_a_normal_exposure(codes, expected):
    from pixelsmith.tasks.develop import estimate_ratio

    assert estimate_ratio(_at_codes(codes)) == pytest.approx(expected, rel=1e-5)


def test_no_ratio_develops_at_the_estimate_and_says_so():
    from pixelsmith.errors import Note

    dark = _at_codes(32)  # ratio 49.6
    with pytest.warns(Note, match=r"ratio 49.6, estimated"):
        auto = pixelsmith.develop_raw(dark, model=_tiny_unet(), tile=0)
    fixed = pixelsmith.develop_raw(dark, ratio=0.1 * (WHITE - 512) / 32, model=_tiny_unet(), tile=0)
    assert torch.allclose(auto, fixed, rtol=0, atol=1e-6)


def test_a_ratio_that_whitens_the_frame_is_warned_about():
    import warnings

    normal = _at_codes(2400)  # level 0.15
    with pytest.warns(UserWarning, match=r"ratio 250 takes 100% of the pixels to white"):
        pixelsmith.develop_raw(normal, ratio=250, model=_tiny_unet(), tile=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pixelsmith.develop_raw(normal, ratio=2, model=_tiny_unet(), tile=0)  # level 0.3: fine
