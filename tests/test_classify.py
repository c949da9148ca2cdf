"""SmallConvNet and the faces task: shapes, data split, batches, training, shipped weights."""

from __future__ import annotations

import pytest
import torch

from pixelsmith.data.photos import step_generator
from pixelsmith.errors import PixelsmithError
from pixelsmith.models import create_model
from pixelsmith.nn import summary
from pixelsmith.resolver import load_model
from pixelsmith.tasks.classify import FacesTask, augment, load_lfw_subset
from pixelsmith.trainer import TrainConfig, Trainer


@pytest.fixture
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_smallconvnet_shapes():
    model = create_model("smallconvnet")
    assert model(torch.rand(4, 1, 25, 25)).shape == (4, 2)
    s = summary(model, (1, 25, 25))
    pools = [r.output_shape for r in s.rows if r.kind == "MaxPool2d"]
    assert pools == [(8, 12, 12), (16, 6, 6), (32, 3, 3)]
    # convs 1->8, 8->16, 16->32 (3x3, with biases), fc 32*3*3 -> 32, fc 32 -> 2
    assert (
        s.total_params
        == (8 * 9 + 8) + (8 * 16 * 9 + 16) + (16 * 32 * 9 + 32) + (288 * 32 + 32) + (32 * 2 + 2)
        == 15_202
    )
    other = create_model("smallconvnet", in_channels=3, num_classes=5, input_size=32, widths=[4, 8])
    y = other(torch.rand(2, 3, 32, 32))
    assert y.shape == (2, 5)
    y.sum().backward()


def test_lfw_subset_split_is_deterministic_balanced_and_disjoint():
    a, b = load_lfw_subset(), load_lfw_subset()
    assert torch.equal(a.test_images, b.test_images) and torch.equal(a.train_labels, b.train_labels)
    assert a.train_images.shape == (150, 1, 25, 25) and a.test_images.shape == (50, 1, 25, 25)
    assert a.train_labels.sum() == 75 and a.test_labels.sum() == 25
    assert 0 <= a.train_images.min() and a.train_images.max() <= 1
    train = {img.numpy().tobytes() for img in a.train_images}
    assert not any(img.numpy().tobytes() in train for img in a.test_images)


def test_batches_are_a_pure_function_of_the_generator():
    task = FacesTask()
    data = task.load_data(["lfw_subset"], 48)
    b1, b2, b3 = (task.make_batch(data, 16, 48, step_generator(0, s)) for s in (5, 5, 6))
    (x1,), (x2,), (x3,) = b1.inputs, b2.inputs, b3.inputs
    y1, y2 = b1.target, b2.target
    assert x1.shape == (16, 1, 25, 25) and y1.shape == (16,) and y1.dtype == torch.int64
    assert torch.equal(x1, x2) and torch.equal(y1, y2) and not torch.equal(x1, x3)


def test_augment_flips_and_shifts():
    img = torch.arange(25.0).reshape(1, 1, 5, 5).repeat(64, 1, 1, 1)
    out = augment(img, torch.Generator().manual_seed(0), max_shift=1)
    assert out.shape == img.shape
    # every output is the input, maybe flipped, shifted by at most one pixel (borders replicated)
    pad = torch.nn.functional.pad(img[:1], (1, 1, 1, 1), mode="replicate")[0, 0]
    candidates = [
        p[dy : dy + 5, dx : dx + 5]
        for p in (pad, pad.flip(-1))
        for dy in range(3)
        for dx in range(3)
    ]
    assert all(any(torch.equal(o[0], c) for c in candidates) for o in out)
    assert len({o.numpy().tobytes() for o in out}) > 8
    flipped_only = augment(img, torch.Generator().manual_seed(1), max_shift=0)
    assert all(torch.equal(o, img[0]) or torch.equal(o, img[0].flip(-1)) for o in flipped_only)


def test_only_lfw_subset_is_accepted():
    task = FacesTask()
    assert task.load_data([], 25) is task.load_data(["lfw_subset"], 25)
    with pytest.raises(PixelsmithError, match="lfw_subset"):
        task.load_data(["photos/"], 25)
    with pytest.raises(PixelsmithError, match="lfw_subset"):
        task.evaluate(create_model("smallconvnet"), "set5")


def test_a_short_training_beats_chance(tmp_path, one_thread):
    task = FacesTask()
    torch.manual_seed(0)
    untrained = task.evaluate(create_model("smallconvnet"))
    cfg = TrainConfig(
        model="smallconvnet",
        data=["lfw_subset"],
        val_data="lfw_subset",
        out=str(tmp_path),
        steps=40,
        batch_size=32,
        lr=3e-3,
        warmup_steps=5,
        val_every=40,
        ckpt_every=40,
        threads=1,
        seed=0,
    )
    path = Trainer(cfg, task, command="test").run()
    model, info = load_model(path)
    got = task.evaluate(model)
    assert info.task == "classify" and info.arch == "smallconvnet"
    assert info.metrics == pytest.approx(got)
    # 40 of 50 held-out images right has probability < 1e-5 by guessing
    assert got["accuracy"] >= 0.8 and got["loss"] < untrained["loss"]


def test_shipped_weights_reach_their_recorded_accuracy():
    """A regression check against the shipped record (the weight file's own held-out metrics),
    and beside it an independent one: the model, run here in float64 on scikit-image's 200 faces
    and non-faces (100 of each, in that order), labels at least 95% of them right."""
    from skimage import data

    model, info = load_model("classify_smallconvnet_faces")
    got = FacesTask().evaluate(model)
    assert got["accuracy"] == pytest.approx(info.metrics["accuracy"])
    assert got["loss"] == pytest.approx(info.metrics["loss"], rel=1e-3)  # float32 on another CPU
    assert got["accuracy"] >= 0.95

    images = torch.from_numpy(data.lfw_subset()).double()[:, None]
    labels = torch.cat([torch.ones(100), torch.zeros(100)]).long()
    assert images.shape == (200, 1, 25, 25) and 0 <= images.min() and images.max() <= 1
    with torch.no_grad():
        predicted = model.double().eval()(images).argmax(1)
    assert (predicted == labels).double().mean() >= 0.95
