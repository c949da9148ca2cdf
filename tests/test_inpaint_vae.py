"""The inpainting VAE: photo attributes against colorsys, the labels CSV and its errors, the KL
term against its closed form and torch.distributions, the task's contract for a model of
objective "vae" (composite, attribute planes, overrides, batches, labels), a tiny overfit, and
the command line."""

from __future__ import annotations

import colorsys
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import pixelsmith
from pixelsmith.cli import main
from pixelsmith.data.attributes import (
    ATTRIBUTES,
    LabelledPhotos,
    parse_attributes,
    photo_attributes,
    read_labels,
    rgb_to_hsv,
)
from pixelsmith.data.photos import step_generator
from pixelsmith.errors import PixelsmithError
from pixelsmith.models.inpaint_vae import InpaintVAE
from pixelsmith.nn.vae_losses import kl_divergence, vae_loss


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _constant(rgb, h=8, w=6) -> torch.Tensor:
    return torch.tensor(rgb, dtype=torch.float64).view(1, 3, 1, 1).expand(1, 3, h, w).clone()


def _by_colorsys(rgb) -> list[float]:
    h, s, v = colorsys.rgb_to_hsv(*rgb)
    return [v, s, s * math.cos(2 * math.pi * h), s * math.sin(2 * math.pi * h)]


# --- attributes ----------------------------------------------------------------------------------


COLOURS = [
    (0.8, 0.4, 0.2),  # orange: H = 1/12, S = 0.75, V = 0.8
    (0.1, 0.6, 0.3),
    (0.2, 0.3, 0.9),
    (1.0, 1.0, 0.0),  # a tie of the maximum: yellow, H = 1/6
    (0.0, 1.0, 1.0),
    (0.9, 0.1, 0.5),  # a hue just below 1: the circular mean has no seam
    (0.5, 0.5, 0.5),  # grey: no hue
    (0.0, 0.0, 0.0),  # black: S = 0 by definition
]


@pytest.mark.parametrize("rgb", COLOURS)
def test_attributes_of_a_constant_colour_are_its_hsv(rgb):
    got = photo_attributes(_constant(rgb))[0]
    torch.testing.assert_close(got, torch.tensor(_by_colorsys(rgb), dtype=torch.float64))


def test_attributes_by_hand():
    """Orange (0.8, 0.4, 0.2): V = 0.8, S = 0.6 / 0.8, H = (0.4 - 0.2) / 0.6 / 6 = 1/18 of a turn."""
    b, s, c, si = photo_attributes(_constant((0.8, 0.4, 0.2)))[0].tolist()
    assert b == pytest.approx(0.8) and s == pytest.approx(0.75)
    assert c == pytest.approx(0.75 * math.cos(math.pi / 9))
    assert si == pytest.approx(0.75 * math.sin(math.pi / 9))
    assert photo_attributes(_constant((0.5, 0.5, 0.5)))[0, 2:].abs().max() == 0


def test_hsv_matches_colorsys_pixel_by_pixel():
    g = torch.Generator().manual_seed(0)
    rgb = torch.rand(1, 3, 7, 9, generator=g, dtype=torch.float64)
    rgb[..., 0, :3] = 0.25  # greys
    hsv = rgb_to_hsv(rgb)[0]
    for y in range(7):
        for x in range(9):
            want = colorsys.rgb_to_hsv(*rgb[0, :, y, x].tolist())
            assert hsv[:, y, x].tolist() == pytest.approx(want, abs=1e-12)


def test_attributes_are_over_the_known_pixels_only():
    left, right = (0.8, 0.4, 0.2), (0.1, 0.2, 0.9)
    img = torch.cat([_constant(left, 8, 4), _constant(right, 8, 4)], -1)
    known = torch.zeros(1, 1, 8, 8, dtype=torch.float64)
    known[..., :4] = 1
    torch.testing.assert_close(
        photo_attributes(img, known)[0], torch.tensor(_by_colorsys(left), dtype=torch.float64)
    )
    both = (torch.tensor(_by_colorsys(left)) + torch.tensor(_by_colorsys(right))) / 2
    torch.testing.assert_close(photo_attributes(img)[0], both.double())
    # the hue vectors of two opposite colours of one saturation cancel: their mean hue is none
    pair = torch.cat([_constant((1.0, 0.0, 0.0), 2, 2), _constant((0.0, 1.0, 1.0), 2, 2)], -1)
    assert float(photo_attributes(pair)[0, 2:].abs().max()) < 1e-12


def test_parse_attributes():
    assert parse_attributes("brightness=0.7, saturation=0.2") == {
        "brightness": 0.7,
        "saturation": 0.2,
    }
    assert parse_attributes({"hue": 120}) == {"hue": 120.0}
    assert parse_attributes(None) == {} and parse_attributes("") == {}
    for bad in ("brightness", "brightness=", "=0.3", "brightness=high", "a=1,a=2", "a=nan"):
        with pytest.raises(PixelsmithError):
            parse_attributes(bad)
    with pytest.raises(PixelsmithError, match="number"):
        parse_attributes({"brightness": "high"})


# --- the labels CSV ------------------------------------------------------------------------------


def test_read_labels(tmp_path):
    p = tmp_path / "labels.csv"
    p.write_text("file,smiling,age\n0001.jpg,1,0.31\n\n 0002.jpg , 0 , 0.52\n")
    labels = read_labels(p)
    assert labels.names == ("smiling", "age")
    assert set(labels.values) == {"0001.jpg", "0002.jpg"}
    torch.testing.assert_close(labels.values["0002.jpg"], torch.tensor([0.0, 0.52]))
    m = labels.matrix([tmp_path / "a" / "0002.jpg", tmp_path / "0001.jpg"])
    torch.testing.assert_close(m, torch.tensor([[0.0, 0.52], [1.0, 0.31]]))
    with pytest.raises(PixelsmithError, match="0003.jpg"):
        labels.matrix([tmp_path / "0003.jpg"])


@pytest.mark.parametrize(
    "text,match",
    [
        ("", "empty"),
        ("file\n0001.jpg\n", "names no attribute"),
        ("file,a,a\n0001.jpg,1,2\n", "repeated"),
        ("file,a,b\n0001.jpg,1\n", "line 2: missing column"),
        ("file,a,b\n0001.jpg,1,2\n0002.jpg,1,2,3\n", "line 3: extra column"),
        ("file,a,b\n0001.jpg,1,two\n", "line 2: b of 0001.jpg is 'two'"),
        ("file,a\n0001.jpg,inf\n", "line 2: a of 0001.jpg"),
        ("file,a\n0001.jpg,1\n0001.jpg,2\n", "line 3: 0001.jpg is labelled twice"),
        ("file,a\n", "no rows"),
    ],
)
def test_labels_errors_name_the_file_and_line(tmp_path, text, match):
    p = tmp_path / "labels.csv"
    p.write_text(text)
    with pytest.raises(PixelsmithError, match=match) as e:
        read_labels(p)
    assert str(p) in str(e.value)


def test_missing_labels_file(tmp_path):
    with pytest.raises(PixelsmithError, match="not found") as e:
        read_labels(tmp_path / "nope.csv")
    assert "nope.csv" in str(e.value)


# --- the loss ------------------------------------------------------------------------------------


def test_kl_against_the_closed_form():
    """KL(N(mu, s^2) || N(0, 1)) = (s^2 + mu^2 - 1 - ln s^2) / 2 per dimension: for mu = (1, 0),
    s^2 = (1, 4): 1/2 + (3 - ln 4) / 2."""
    mu = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    logvar = torch.tensor([[0.0, math.log(4.0)]], dtype=torch.float64)
    want = 0.5 + (3 - math.log(4.0)) / 2
    assert float(kl_divergence(mu, logvar)[0]) == pytest.approx(want, rel=1e-12)
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(3, 5, generator=g, dtype=torch.float64)
    logvar = torch.randn(3, 5, generator=g, dtype=torch.float64)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    ref = torch.distributions.kl_divergence(q, p).sum(1)
    torch.testing.assert_close(kl_divergence(mu, logvar), ref, rtol=1e-12, atol=1e-12)


def test_vae_loss_is_the_elbo_per_element_without_the_feature_term():
    g = torch.Generator().manual_seed(0)
    out = torch.rand(2, 3, 4, 5, generator=g, dtype=torch.float64)
    gt = torch.rand(2, 3, 4, 5, generator=g, dtype=torch.float64)
    mu = torch.randn(2, 6, generator=g, dtype=torch.float64)
    logvar = torch.randn(2, 6, generator=g, dtype=torch.float64)
    kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1).mean()
    want = ((out - gt) ** 2).mean() + 0.5 * kl / 60
    assert float(vae_loss(out, mu, logvar, gt, kl_weight=0.5)) == pytest.approx(float(want))

    def features(x):  # a "feature network": the image, and its 2x2 means
        return [x, torch.nn.functional.avg_pool2d(x, 2)]

    pooled = torch.nn.functional.avg_pool2d
    extra = ((out - gt) ** 2).mean() + ((pooled(out, 2) - pooled(gt, 2)) ** 2).mean()
    got = vae_loss(out, mu, logvar, gt, 0.5, 2.0, features)
    assert float(got) == pytest.approx(float(want + 2 * extra))
    with pytest.raises(ValueError, match="feature network"):
        vae_loss(out, mu, logvar, gt, 1.0, 1.0, None)


# --- the model and the task ----------------------------------------------------------------------


def _fresh_vae(seed: int = 0) -> InpaintVAE:
    torch.manual_seed(seed)
    net = pixelsmith.create_model("inpaint_vae")
    with torch.no_grad():  # the spread of attributes over photos, as training sets it
        net.set_attribute_stats(torch.tensor([0.5, 0.4, 0.1, 0.2]), torch.full((4,), 0.15))
    return net.eval()


@pytest.fixture
def photo() -> np.ndarray:
    from skimage import data

    return data.astronaut()[::4, ::4].copy()  # 128 x 128 x 3 uint8


def _hole(h: int, w: int) -> np.ndarray:
    hole = np.zeros((h, w), np.uint8)
    hole[40:70, 30:90] = 255
    return hole


def test_model_size_and_spec():
    net = pixelsmith.create_model("inpaint_vae")
    assert sum(p.numel() for p in net.parameters()) == 2_332_011
    assert net.objective == "vae" and net.spec.receptive_field is None
    assert net.attribute_names == ATTRIBUTES and net.latent == 100 and net.side == 64


def test_output_and_shapes_at_any_size():
    net = _fresh_vae()
    x = torch.rand(2, 3, 50, 83)
    k = (torch.rand(2, 1, 50, 83) > 0.3).float()
    out, mu, logvar = net(x * k, k, aux=True)
    assert out.shape == (2, 3, 50, 83) and mu.shape == logvar.shape == (2, 100)
    assert float(out.detach().min()) >= 0 and float(out.detach().max()) <= 1
    torch.testing.assert_close(net(x * k, k), out)  # evaluation: z = mu, no sampling


def test_the_vae_keeps_the_input_outside_the_hole_exactly(photo):
    hole = _hole(*photo.shape[:2])
    out = pixelsmith.inpaint(photo, hole, _fresh_vae())
    assert out.dtype == np.uint8 and out.shape == photo.shape
    known = hole == 0
    assert np.array_equal(out[known], photo[known])
    assert not np.array_equal(out[~known], photo[~known])


def test_the_task_measures_the_attributes_the_model_would():
    """The planes ``prepare`` gives are the known pixels' attributes: the model called with them
    equals the model called without (measuring them itself)."""
    net = _fresh_vae()
    task = pixelsmith.get_task("inpaint").bind(net)
    from pixelsmith.images import MaskedImage

    g = torch.Generator().manual_seed(0)
    img = torch.rand(3, 40, 56, generator=g)
    known = (torch.rand(1, 40, 56, generator=g) > 0.4).float()
    prepared = task.prepare(MaskedImage(img, known), net.spec)
    x, k, planes = prepared.inputs
    assert planes.shape == (1, 4, 40, 56)
    torch.testing.assert_close(planes[:, :, 5, 7], photo_attributes(img[None], known[None]))
    with torch.no_grad():
        torch.testing.assert_close(net(x, k, planes), net(x, k))


def test_an_attribute_changes_the_fill_but_not_the_known_pixels(photo):
    """A fresh model's conditioning is weak (its FiLM starts at the identity), so the photo is
    given as a float tensor and the change measured before 8-bit rounding."""
    net = _fresh_vae()
    x = torch.from_numpy(photo).permute(2, 0, 1).float() / 255
    hole = torch.from_numpy(_hole(*photo.shape[:2]) > 0)[None]
    dark = pixelsmith.inpaint(x, hole.float(), net, attributes={"brightness": 0.1})
    bright = pixelsmith.inpaint(x, hole.float(), net, attributes="brightness=0.9")
    same = pixelsmith.inpaint(x, hole.float(), net)
    known = ~hole.expand(3, -1, -1)
    assert torch.equal(dark[known], x[known]) and torch.equal(bright[known], x[known])
    assert float((bright - dark)[~known].abs().mean()) > 5e-4  # 1.6e-3 here; float noise 1e-7
    assert float((same - dark)[~known].abs().mean()) > 2e-4
    hued = pixelsmith.inpaint(x, hole.float(), net, attributes="hue=240")
    assert float((hued - same)[~known].abs().mean()) > 2e-4


def test_attribute_overrides_are_checked(photo):
    hole = _hole(*photo.shape[:2])
    with pytest.raises(PixelsmithError, match="unknown attribute 'smiling'.*brightness"):
        pixelsmith.inpaint(photo, hole, _fresh_vae(), attributes="smiling=1")
    with pytest.raises(PixelsmithError, match="VAE"):
        pixelsmith.inpaint(photo, hole, "telea", attributes="brightness=0.5")
    with pytest.raises(PixelsmithError, match="name=number"):
        pixelsmith.get_task("inpaint", attributes="brightness:0.5")


def test_hue_override_sets_the_hue_vector():
    from pixelsmith.images import MaskedImage

    net = _fresh_vae()
    task = pixelsmith.get_task("inpaint", attributes="saturation=0.5,hue=90").bind(net)
    img, known = torch.rand(3, 16, 16), torch.ones(1, 16, 16)
    planes = task.prepare(MaskedImage(img, known), net.spec).inputs[2][0, :, 0, 0]
    torch.testing.assert_close(planes[1:], torch.tensor([0.5, 0.0, 0.5]), atol=1e-7, rtol=0)


def test_training_batch_carries_the_clean_crops_attributes(photo_dir):
    task = pixelsmith.get_task("inpaint").bind(_fresh_vae())
    data = task.load_data([str(photo_dir)], 64)
    batch = task.make_batch(data, 4, 64, step_generator(0, 0))
    image, known, planes = batch.inputs
    assert image.shape == (4, 3, 64, 64) and planes.shape == (4, 4, 64, 64)
    assert torch.equal(image, batch.target * known) and torch.equal(known, batch.mask)
    torch.testing.assert_close(planes[:, :, 31, 2], photo_attributes(batch.target))
    assert torch.equal(planes, planes[:, :, :1, :1].expand_as(planes))
    # the same generator state, the same batch (the trainer's resume relies on it)
    again = task.make_batch(data, 4, 64, step_generator(0, 0))
    assert all(torch.equal(a, b) for a, b in zip(again.inputs, batch.inputs, strict=True))
    pconv = pixelsmith.get_task("inpaint")  # unbound: the PConv U-Net's two inputs
    assert len(pconv.make_batch(data, 2, 64, step_generator(0, 0)).inputs) == 2


def test_setup_measures_the_attribute_statistics(photo_dir):
    task = pixelsmith.get_task("inpaint")
    data = task.load_data([str(photo_dir)], 64)
    net = pixelsmith.create_model("inpaint_vae")
    task.setup_model(net, data)
    assert min(min(s) for s in data.sizes) >= 128  # 256 crops of 128 px, from a fixed seed
    crops = data.random_crops(256, 128, torch.Generator().manual_seed(0))
    want = photo_attributes(crops)
    torch.testing.assert_close(net.attribute_mean, want.mean(0))
    torch.testing.assert_close(net.attribute_std, want.std(0))


def test_labels_give_the_crops_photos_attributes(tmp_path):
    """Photos of one colour each, labelled with their index: every crop's planes are the labels
    of the photo it was cut from."""
    from PIL import Image

    colours = [(250, 10, 10), (10, 250, 10), (10, 10, 250)]
    for i, c in enumerate(colours):
        Image.fromarray(np.full((70 + 10 * i, 80, 3), c, np.uint8)).save(tmp_path / f"p{i}.png")
    csv = tmp_path / "labels.csv"
    csv.write_text("file,index,ten\np0.png,0,10\np1.png,1,10\np2.png,2,10\n")
    task = pixelsmith.get_task("inpaint", labels=str(csv))
    assert task.model_kwargs() == {"attributes": ("index", "ten")}
    net = pixelsmith.create_model("inpaint_vae", **task.model_kwargs())
    data = task.load_data([str(tmp_path)], 64)
    assert isinstance(data, LabelledPhotos)
    task.setup_model(net, data)
    torch.testing.assert_close(net.attribute_mean, torch.tensor([1.0, 10.0]))
    torch.testing.assert_close(net.attribute_std, torch.tensor([1.0, 1.0]))  # 0 is taken as 1
    bound = task.bind(net)
    batch = bound.make_batch(data, 12, 64, step_generator(1, 0))
    index = batch.inputs[2][:, 0, 0, 0].long()
    which = batch.target[:, :, 0, 0].argmax(1)  # red, green, blue: the photo's colour
    assert torch.equal(index, which) and len(set(index.tolist())) > 1
    assert torch.equal(batch.inputs[2][:, 1], torch.full((12, 64, 64), 10.0))
    # crops are as they were without the index
    crops, idx = data.photos.random_crops(5, 32, step_generator(2, 0), return_index=True)
    assert torch.equal(crops, data.photos.random_crops(5, 32, step_generator(2, 0)))
    assert idx.shape == (5,)
    # an unlabelled photo, and a model of other attributes, are refused
    Image.fromarray(np.full((64, 64, 3), 9, np.uint8)).save(tmp_path / "p3.png")
    with pytest.raises(PixelsmithError, match="no labels for p3.png"):
        task.load_data([str(tmp_path)], 64)
    with pytest.raises(PixelsmithError, match="not the labels"):
        task.setup_model(pixelsmith.create_model("inpaint_vae"), data)
    with pytest.raises(PixelsmithError, match="cannot be measured.*--labels"):
        pixelsmith.get_task("inpaint").setup_model(net, data.photos)


def test_a_few_steps_on_one_batch_reduce_the_loss(photo_dir):
    """The plain ELBO and the feature term: a tiny overfit."""
    for weight in (0.0, 0.01):
        torch.manual_seed(0)
        net = pixelsmith.create_model("inpaint_vae")
        task = pixelsmith.get_task("inpaint", vae_perceptual_weight=weight)
        data = task.load_data([str(photo_dir)], 64)
        task.setup_model(net, data)
        task = task.bind(net)
        assert task.feature_name() == ("colornet_s.photos" if weight else "")
        wanted = task.loss_models()  # as the Trainer does: loaded through the resolver
        assert wanted == ({"features": ("colornet_s.photos", "colorize")} if weight else {})
        task = task.with_loss_models(
            {r: pixelsmith.load_model(n, task=t)[0] for r, (n, t) in wanted.items()}
        )
        batch = task.make_batch(data, 4, 64, step_generator(0, 0))
        opt = torch.optim.Adam(net.parameters(), lr=2e-3)
        losses = []
        for _ in range(15):
            loss = task.loss(task.training_forward(net.train(), batch), batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        assert all(math.isfinite(v) for v in losses)
        assert losses[-1] < 0.7 * losses[0], losses


# --- the command line ---------------------------------------------------------------------------


def test_cli_trains_and_steers_the_vae(tmp_path, photo_dir, photo):
    from PIL import Image

    run = CliRunner().invoke
    r = run(
        main,
        [
            "train",
            "inpaint",
            "--model",
            "vae",
            "--data",
            str(photo_dir),
            "--steps",
            "2",
            "--batch-size",
            "2",
            "--patch-size",
            "64",
            "--kl-weight",
            "0.5",
            "--vae-perceptual-weight",
            "0",
            "--threads",
            "1",
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert r.exit_code == 0, r.output
    weights = tmp_path / "r" / "weights.safetensors"
    net, info = pixelsmith.load_model(weights, task="inpaint")
    assert info.arch == "inpaint_vae"
    assert info.config["task"]["kl_weight"] == 0.5
    assert info.config["task"]["vae_perceptual_weight"] == 0
    Image.fromarray(photo).save(tmp_path / "p.png")
    Image.fromarray(_hole(128, 128)).save(tmp_path / "hole.png")
    args = [
        "inpaint",
        str(tmp_path / "p.png"),
        "--mask",
        str(tmp_path / "hole.png"),
        "--model",
        str(weights),
        "--attributes",
        "brightness=0.8",
    ]
    r = run(main, [*args, "--out", str(tmp_path / "o.png")])
    assert r.exit_code == 0, r.output
    want = pixelsmith.inpaint(photo, _hole(128, 128), net, attributes={"brightness": 0.8})
    assert np.array_equal(np.asarray(Image.open(tmp_path / "o.png")), want)
    r = run(main, [*args[:-1], "smiling=1", "--out", str(tmp_path / "o2.png")])
    assert r.exit_code == 1 and "unknown attribute" in r.output
