"""Inpainting: the partial convolution against a naive loop and the paper's claims, the PConv
U-Net's receptive field, the paper's loss terms by hand, and the task's contract (composite,
mask handling, tiling)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import pixelsmith
from pixelsmith.cli import main
from pixelsmith.errors import PixelsmithError
from pixelsmith.models.pconv_unet import PConvUNet
from pixelsmith.nn import PartialConv2d, partial_conv2d
from pixelsmith.nn import inpaint_losses as L


def naive_partial_conv(x, m, w, b, stride, padding, dilation):
    """The paper's equation, one output pixel at a time (float64)."""
    n, c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    xp = torch.nn.functional.pad(x, (padding,) * 4)
    mp = torch.nn.functional.pad(m.expand(n, c_in, h, wd) if m.shape[1] == 1 else m, (padding,) * 4)
    ho = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    wo = (wd + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    out = torch.zeros(n, c_out, ho, wo, dtype=x.dtype)
    new = torch.zeros(n, 1, ho, wo, dtype=x.dtype)
    per_window = (c_in if m.shape[1] > 1 else 1) * kh * kw
    for i in range(n):
        for y in range(ho):
            for z in range(wo):
                ys = slice(y * stride, y * stride + dilation * (kh - 1) + 1, dilation)
                zs = slice(z * stride, z * stride + dilation * (kw - 1) + 1, dilation)
                X, M = xp[i, :, ys, zs], mp[i, :, ys, zs]
                seen = M.sum() if m.shape[1] > 1 else M[0].sum()
                if seen > 0:
                    for o in range(c_out):
                        out[i, o, y, z] = (w[o] * X * M).sum() * per_window / seen + b[o]
                    new[i, 0, y, z] = 1
    return out, new


@pytest.mark.parametrize("stride,padding,dilation", [(1, 1, 1), (2, 2, 1), (1, 2, 2), (2, 1, 1)])
@pytest.mark.parametrize("mask_channels", [1, 3])
def test_partial_conv_matches_the_paper_equation(stride, padding, dilation, mask_channels):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 9, 8, generator=g, dtype=torch.float64)
    m = (torch.rand(2, mask_channels, 9, 8, generator=g) > 0.6).double()
    m[0, :, :5, :5] = 0  # a hole wider than a window: some outputs see nothing
    w = torch.randn(4, 3, 3, 3, generator=g, dtype=torch.float64)
    b = torch.randn(4, generator=g, dtype=torch.float64)
    got, got_mask = partial_conv2d(x, m, w, b, stride, padding, dilation)
    want, want_mask = naive_partial_conv(x, m, w, b, stride, padding, dilation)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    assert torch.equal(got_mask[:, :1], want_mask)
    assert got_mask.shape[1] == (1 if mask_channels == 1 else 4)
    assert bool((want_mask == 0).any()), "the test should include windows that see no pixel"


def test_a_constant_image_stays_constant_under_any_mask():
    """With an averaging kernel, the renormalisation makes the output the constant wherever the
    window saw a known pixel, whatever the share it saw (a plain convolution darkens it)."""
    conv = PartialConv2d(3, 3, 5, padding=2, bias=False).double()
    with torch.no_grad():
        conv.weight.zero_()
        for c in range(3):
            conv.weight[c, c] = 1 / 25
    g = torch.Generator().manual_seed(3)
    mask = (torch.rand(1, 1, 32, 32, generator=g) > 0.7).double()
    x = torch.full((1, 3, 32, 32), 0.37, dtype=torch.float64)
    out, new = conv(x, mask)
    seen = new.bool().expand_as(out)
    torch.testing.assert_close(out[seen], torch.full_like(out[seen], 0.37), rtol=0, atol=1e-12)
    plain = torch.nn.functional.conv2d(x * mask, conv.weight.detach(), padding=2)
    assert float((plain[seen] - 0.37).abs().max()) > 0.1


def test_enough_layers_fill_any_hole():
    """Each 3x3 layer grows the known region by one pixel: a single known pixel in a 21x21 image
    (10 pixels from the far corner) is everywhere known after 10 layers, and not after 9."""
    mask = torch.zeros(1, 1, 21, 21)
    mask[..., 10, 10] = 1
    conv = PartialConv2d(1, 1, 3, padding=1)
    x = torch.rand(1, 1, 21, 21)
    for layer in range(1, 11):
        x, mask = conv(x, mask)
        assert bool(mask.all()) == (layer == 10)


def _small_unet() -> PConvUNet:
    torch.manual_seed(0)
    net = PConvUNet((4, 6, 8), (7, 5, 3)).double().eval()
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.3)
    return net


def test_pconv_unet_receptive_field_bounds_the_dependence():
    """Changing pixels (and holes) farther than the stated radius leaves the centre unchanged."""
    net = _small_unet()
    r = (net.receptive_field - 1) // 2
    n = -(-(2 * r + 9) // 8) * 8
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, n, n, generator=g, dtype=torch.float64)
    m = (torch.rand(1, 1, n, n, generator=g) > 0.3).double()
    i = torch.arange(n)
    c = n // 2
    far = torch.maximum((i[:, None] - c).abs(), (i[None, :] - c).abs()) > r
    with torch.no_grad():
        y = net(x, m)[..., c, c]
        y2 = net(torch.where(far, torch.rand(n, n, generator=g, dtype=torch.float64), x), m)
        y3 = net(x, torch.where(far, 1 - m, m))
    torch.testing.assert_close(y2[..., c, c], y, rtol=0, atol=1e-12 * float(y.abs().max()))
    torch.testing.assert_close(y3[..., c, c], y, rtol=0, atol=1e-12 * float(y.abs().max()))


def test_paper_network_size():
    """The paper's PConv U-Net (8 levels, 64-512 channels) has about 32.9M parameters."""
    n = sum(p.numel() for p in pixelsmith.create_model("pconv_unet").parameters())
    assert 32.5e6 < n < 33.2e6


def test_frozen_encoder_batch_norm_stays_in_eval_mode():
    net = PConvUNet((4, 6, 8), (7, 5, 3), freeze_encoder_bn=True).train()
    assert all(not b.bn.training for b in net.encoder if b.bn is not None)
    assert all(b.bn.training for b in net.decoder if b.bn is not None)


# --- the loss, term by term ----------------------------------------------------------------------


def test_hole_and_valid_terms_by_hand():
    out = torch.tensor([[[[0.0, 1.0], [0.5, 0.5]]]])
    gt = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    mask = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    hole, valid = L.hole_and_valid_l1(out, gt, mask)
    assert float(hole) == pytest.approx((1.0 + 0.5) / 4)  # per element of the image
    assert float(valid) == pytest.approx((0.0 + 0.5) / 4)
    comp = L.composite(out, gt, mask)
    assert comp.flatten().tolist() == [0.0, 1.0, 0.0, 0.5]


def test_gram_and_style_normalisation_by_hand():
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 0.0]]]])  # (1, C=2, H=1, W=2)
    want = torch.tensor([[[5.0, 3.0], [3.0, 9.0]]]) / (2 * 1 * 2)
    torch.testing.assert_close(L.gram(f), want)
    zero = torch.zeros_like(f)
    perceptual, style = L.perceptual_and_style([f], [zero], [zero])
    assert float(perceptual) == pytest.approx(6.0 / 4)  # ||f||_1 / N for out, 0 for comp
    assert float(style) == pytest.approx(float(want.abs().sum()) / 4)  # ||K Gram||_1 / C^2


def test_total_variation_on_the_grown_hole_by_hand():
    comp = torch.zeros(1, 1, 1, 5)
    comp[..., 4] = 1.0  # one step, between x = 3 and x = 4
    mask = torch.ones(1, 1, 1, 5)
    mask[..., 2] = 0  # the hole at x = 2, grown by one: x = 1..3
    assert float(L.hole_total_variation(comp, mask)) == pytest.approx(1.0 / 5)
    mask = torch.ones(1, 1, 1, 5)
    mask[..., 0] = 0  # grown: x = 0..1, far from the step
    assert float(L.hole_total_variation(comp, mask)) == 0.0


def test_paper_loss_weights_are_the_defaults():
    w = L.InpaintLossWeights()
    assert (w.valid, w.hole, w.perceptual, w.style, w.tv) == (1, 6, 0.05, 120, 0.1)
    t = pixelsmith.get_task("inpaint")
    assert t.loss_weights == w and t.feature_name() == "colornet_s.photos"
    assert pixelsmith.get_task("inpaint", perceptual_weight=0, style_weight=0).feature_name() == ""


# --- the task ----------------------------------------------------------------------------------


@pytest.fixture
def photo() -> np.ndarray:
    from skimage import data

    return data.astronaut()[::4, ::4].copy()  # 128 x 128 x 3 uint8


def _hole(h: int, w: int) -> np.ndarray:
    hole = np.zeros((h, w), np.uint8)
    hole[40:70, 30:90] = 255
    return hole


@pytest.mark.parametrize("model", ["telea", "pconv_unet_s"])
def test_output_equals_the_input_outside_the_hole_exactly(photo, model):
    net = model if model == "telea" else PConvUNet((8, 8, 8), (7, 5, 3))
    hole = _hole(*photo.shape[:2])
    out = pixelsmith.inpaint(photo, hole, net)
    assert out.dtype == np.uint8 and out.shape == photo.shape
    known = hole == 0
    assert np.array_equal(out[known], photo[known])
    assert not np.array_equal(out[~known], photo[~known])


def test_empty_mask_returns_the_input_and_full_mask_is_refused(photo):
    empty = np.zeros(photo.shape[:2], np.uint8)
    assert np.array_equal(pixelsmith.inpaint(photo, empty, "telea"), photo)
    with pytest.raises(PixelsmithError, match="whole photo"):
        pixelsmith.inpaint(photo, np.full(photo.shape[:2], 255, np.uint8), "telea")


def test_a_mask_of_another_size_is_refused_or_resized(photo):
    small = _hole(64, 64)
    with pytest.raises(PixelsmithError, match="resize-mask"):
        pixelsmith.inpaint(photo, small, "telea")
    out = pixelsmith.inpaint(photo, small, "telea", resize_mask=True)
    assert out.shape == photo.shape


def test_transparent_pixels_are_the_hole_and_the_result_is_opaque(photo):
    rgba = np.dstack([photo, np.where(_hole(128, 128) > 0, 0, 255).astype(np.uint8)])
    out = pixelsmith.inpaint(Image.fromarray(rgba, "RGBA"), model="telea")
    assert out.mode == "RGB"
    want = pixelsmith.inpaint(photo, _hole(128, 128), "telea")
    assert np.array_equal(np.asarray(out), want)
    with pytest.raises(PixelsmithError, match="no hole"):
        pixelsmith.inpaint(photo, model="telea")


def test_tiled_inference_equals_whole_image_inference():
    """The mask is tiled with the photo; windows wider than the receptive field give the whole
    image's result (compared in float64, relative to the output's scale)."""
    from pixelsmith.images import MaskedImage
    from pixelsmith.infer import run_tiled

    net = _small_unet()
    task = pixelsmith.get_task("inpaint")
    g = torch.Generator().manual_seed(1)
    img = torch.rand(3, 160, 200, generator=g, dtype=torch.float64)
    known = (torch.rand(1, 160, 200, generator=g) > 0.3).double()
    prepared = task.prepare(MaskedImage(img, known), net.spec)
    whole = run_tiled(net, prepared, task, tile=0)
    tiled = run_tiled(net, prepared, task, tile=32)
    torch.testing.assert_close(tiled, whole, rtol=0, atol=1e-10)


def test_training_batch_and_loss(photo_dir):
    task = pixelsmith.get_task("inpaint", perceptual_weight=0, style_weight=0)
    data = task.load_data([str(photo_dir)], 64)
    g = torch.Generator().manual_seed(0)
    batch = task.make_batch(data, 4, 64, g)
    image, known = batch.inputs
    assert image.shape == (4, 3, 64, 64) and known.shape == (4, 1, 64, 64)
    assert torch.equal(image, batch.target * known) and torch.equal(known, batch.mask)
    assert 0 < float(1 - known.mean()) < 0.7
    net = PConvUNet((8, 8, 8), (7, 5, 3))
    loss = task.loss(task.training_forward(net, batch), batch)
    loss.backward()
    assert torch.isfinite(loss) and float(loss.detach()) > 0


# --- the command line ---------------------------------------------------------------------------


def test_cli_inpaint_and_masks(tmp_path, photo):
    Image.fromarray(photo).save(tmp_path / "p.png")
    Image.fromarray(_hole(128, 128)).save(tmp_path / "hole.png")
    Image.fromarray(_hole(64, 64)).save(tmp_path / "small.png")
    run = CliRunner().invoke
    r = run(
        main,
        [
            "inpaint",
            str(tmp_path / "p.png"),
            "--mask",
            str(tmp_path / "hole.png"),
            "--model",
            "telea",
            "--out",
            str(tmp_path / "o.png"),
        ],
    )
    assert r.exit_code == 0, r.output
    want = pixelsmith.inpaint(photo, _hole(128, 128), "telea")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "o.png")), want)
    r = run(
        main,
        [
            "inpaint",
            str(tmp_path / "p.png"),
            "--mask",
            str(tmp_path / "small.png"),
            "--model",
            "telea",
            "--out",
            str(tmp_path / "o2.png"),
        ],
    )
    assert r.exit_code == 1 and "resize-mask" in r.output and not (tmp_path / "o2.png").exists()
    (tmp_path / "m").mkdir()
    r = run(
        main,
        [
            "masks",
            "--ratio",
            "0.1-0.2",
            "--count",
            "3",
            "--size",
            "96x64",
            "--seed",
            "1",
            "--out",
            str(tmp_path / "m"),
        ],
    )
    assert r.exit_code == 0, r.output
    files = sorted((tmp_path / "m").iterdir())
    assert len(files) == 3
    for f in files:
        hole = np.asarray(Image.open(f).convert("L")) > 127
        assert hole.shape == (64, 96) and 0.1 <= hole.mean() <= 0.2


# --- the protocol ------------------------------------------------------------------------------


def test_eval_cases_take_every_bucket_and_both_halves_of_it(tmp_path):
    from pixelsmith.tasks.inpaint_protocol import eval_cases

    masks, photos = tmp_path / "masks", tmp_path / "photos"
    masks.mkdir()
    photos.mkdir()
    for b in range(6):
        for k in range(0, 2000, 100):  # 10 of the margin half, 10 touching the border
            (masks / f"{b * 2000 + k:05d}.png").write_bytes(b"")
    for i in range(4):
        Image.new("RGB", (40, 30)).save(photos / f"p{i}.png")
    cases = eval_cases(photos, masks)
    assert len(cases) == 24
    for b in range(6):
        mine = [c for c in cases if c.bucket == b]
        numbers = [int(c.mask.stem) - b * 2000 for c in mine]
        assert numbers == [0, 500, 1000, 1500]  # photo i takes the mask at i / 4 of the list
    generated = eval_cases(photos)
    assert [c.bucket for c in generated] == [0, 1, 2, 3] and all(c.mask is None for c in generated)
    with pytest.raises(PixelsmithError, match="not found"):
        eval_cases(tmp_path / "nothing", masks)


def test_summarise_means_overall_and_per_bucket():
    from pixelsmith.tasks.inpaint_protocol import summarise

    rows = [
        {"bucket": 0, "psnr": 30.0, "ssim": 0.9, "l1": 0.01},
        {"bucket": 0, "psnr": 32.0, "ssim": 0.8, "l1": 0.03},
        {"bucket": 2, "psnr": 20.0, "ssim": 0.5, "l1": 0.10},
    ]
    r = summarise(rows)
    assert r["psnr"] == pytest.approx(82 / 3) and r["psnr@0.01-0.1"] == 31.0
    assert r["l1@0.2-0.3"] == 0.10 and "psnr@0.1-0.2" not in r


def test_generated_validation_masks_are_fixed_and_in_their_bucket(tmp_path, photo):
    from pixelsmith.data.masks import BUCKETS, hole_ratio
    from pixelsmith.tasks.inpaint_protocol import case_input, eval_cases

    for i in range(3):
        Image.fromarray(photo).save(tmp_path / f"p{i}.png")
    for case in eval_cases(tmp_path):
        img, known = case_input(case)
        again = case_input(case)[1]
        assert img.shape == (3, 128, 128) and torch.equal(known, again)
        lo, hi = BUCKETS[case.bucket]
        assert lo <= hole_ratio(known) <= hi
