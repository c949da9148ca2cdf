"""Seeing inside networks: filter grids, activation maps, occlusion, top patches, feature vis.

Every check uses small networks defined here (some with hand-set weights, so the right answer is
known), fixed seeds, and no files but temporary ones.
"""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.io import read_image
from pixelsmith.models import create_model, list_models, model_spec
from pixelsmith.resize import imresize
from pixelsmith.viz import feature_vis as fv
from pixelsmith.viz.activations import activation_grid, activation_maps, save_activation_grid
from pixelsmith.viz.filters import filter_grid, save_filter_grid
from pixelsmith.viz.grid import make_grid
from pixelsmith.viz.layers import conv_layer_names, get_layer, layer_names, layer_outputs
from pixelsmith.viz.occlusion import occlusion_map, parse_target, region_target, save_occlusion
from pixelsmith.viz.top_patches import patch_grid, receptive_field, top_patches


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These nets are tiny: one thread is faster than two fighting over a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


SOBEL = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])


class TinyNet(nn.Module):
    """conv3x3(6) -> ReLU(inplace) -> maxpool 2 -> conv3x3(8) -> ReLU -> global mean -> linear."""

    def __init__(self, in_channels: int = 1) -> None:
        super().__init__()
        self.features = nn.Sequential(
            OrderedDict(
                conv1=nn.Conv2d(in_channels, 6, 3, padding=1),
                act1=nn.ReLU(inplace=True),
                pool1=nn.MaxPool2d(2),
                conv2=nn.Conv2d(6, 8, 3, padding=1),
                act2=nn.ReLU(),
            )
        )
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean((2, 3)))


def tiny(in_channels: int = 1) -> TinyNet:
    torch.manual_seed(0)
    return TinyNet(in_channels).eval()


def edge_net(channels: int = 1) -> nn.Sequential:
    """Hand-set: Sobel x and y (bias 0.05) -> ReLU -> maxpool 2 -> 3x3 sum (x 0.25) -> ReLU."""
    net = nn.Sequential(
        OrderedDict(
            conv1=nn.Conv2d(channels, 2, 3, padding=1),
            act1=nn.ReLU(),
            pool1=nn.MaxPool2d(2),
            conv2=nn.Conv2d(2, 1, 3, padding=1),
            act2=nn.ReLU(),
        )
    )
    with torch.no_grad():
        net.conv1.weight[0] = SOBEL / channels
        net.conv1.weight[1] = SOBEL.T / channels
        net.conv1.bias.fill_(0.05)
        net.conv2.weight.fill_(0.25)
        net.conv2.bias.zero_()
    return net.eval()


# --------------------------------------------------------------------------------------------------
# Layers


def test_layer_names_are_convs_and_leaves_in_order():
    assert layer_names(tiny()) == [
        "features.conv1",
        "features.act1",
        "features.pool1",
        "features.conv2",
        "features.act2",
        "head",
    ]
    assert layer_names(create_model("srcnn_955")) == ["conv1", "conv2", "conv3", "relu"]
    assert get_layer(create_model("lrnet_s"), "body.0.conv1") is not None  # a nested name


@pytest.mark.parametrize(
    "call",
    [
        lambda m: get_layer(m, "conv9"),
        lambda m: activation_maps(m, torch.rand(1, 8, 8), "conv9"),
        lambda m: filter_grid(m, "conv9"),
        lambda m: top_patches(m, [torch.rand(1, 8, 8)], "conv9", 0),
        lambda m: fv.visualize_feature(m, "conv9", 0, steps=1),
    ],
)
def test_unknown_layer_lists_the_valid_names(call):
    model = tiny()
    with pytest.raises(PixelsmithError, match="unknown layer 'conv9'") as err:
        call(model)
    for name in layer_names(model):
        assert name in str(err.value)


def test_layer_outputs_stop_early_and_keep_a_copy():
    """The forward stops at the layer (a head that would fail is never reached); in-place ReLU after
    the captured conv does not change the capture."""

    class Broken(TinyNet):
        def forward(self, x):
            f = self.features(x)
            raise AssertionError("ran past the layer")  # pragma: no cover
            return f

    torch.manual_seed(0)
    model = Broken()
    x = torch.randn(2, 1, 10, 10)
    out = layer_outputs(model, x, ["features.conv1"])["features.conv1"]
    assert (out < 0).any()  # the in-place ReLU that follows did not clip the copy
    torch.testing.assert_close(out, model.features.conv1(x))


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_can_be_looked_into(name):
    """Filters, activations, occlusion, top patches, feature vis: on every registered model."""
    torch.manual_seed(0)
    model = create_model(name).eval()
    h, w = fv.input_size(model, default=(12, 12))
    c = model_spec(model).in_channels if hasattr(type(model), "spec") else 1
    x = torch.rand(c, h, w, generator=torch.Generator().manual_seed(0))
    names = layer_names(model)
    convs = conv_layer_names(model)
    if not convs:  # bicubic: nothing inside
        assert names == []
        return
    assert filter_grid(model).dim() == 3
    maps = activation_maps(model, x, convs[0])
    assert maps.dim() == 3 and activation_grid(maps).dim() == 3
    captured = []  # the reference: what a plain forward hook sees in a whole forward pass
    hook = get_layer(model, convs[0]).register_forward_hook(  # a partial conv's: (x, mask)
        lambda module, args, out: captured.append(
            (out[0] if isinstance(out, tuple) else out).detach().clone()
        )
    )
    with torch.no_grad():
        model(x[None])
    hook.remove()
    torch.testing.assert_close(maps, captured[0][0])
    # The paper's PConv U-Net takes multiples of 256 px and has 33M parameters: there each
    # occluded cell is a whole forward pass, and each top patch's receptive field 16 forward and
    # backward passes (there the field is the whole image: a second patch would be the other
    # image's whole crop, no border to pad). It gets 2 x 2 cells and one patch; smaller inputs get
    # cells of a quarter side (3 x 3 or more) and two patches.
    big = h * w >= 256 * 256
    p = max(h, w) // 2 if big else max(4, h // 4, w // 4)
    cells = occlusion_map(model, x, 0, patch=p, stride=p)
    assert cells.shape == (-(-h // p), -(-w // p)) and torch.isfinite(cells).all()
    k = 1 if big else 2
    patches = top_patches(model, [x, x.flip(-1)], convs[-1], 0, k=k)
    assert len(patches) == k and patches[0].pixels.shape == patches[-1].pixels.shape
    assert patches[0].pixels.shape[0] == c and patches[0].score >= patches[-1].score
    result = fv.visualize_feature(model, convs[0], 0, size=(h, w), steps=2)
    assert result.image.shape == (c, h, w)


# --------------------------------------------------------------------------------------------------
# Filters


def test_filter_grid_shape_and_per_filter_normalisation():
    model = tiny()
    w = model.features.conv1.weight.detach()  # (6, 1, 3, 3)
    grid = filter_grid(model, zoom=2, pad=1)
    # ceil(sqrt(6)) = 3 per row, 2 rows, tiles of 6 px: (1, 2*7+1, 3*7+1)
    assert grid.shape == (1, 15, 22)
    for i in range(6):
        r, q = divmod(i, 3)
        tile = grid[0, 1 + 7 * r : 7 + 7 * r : 2, 1 + 7 * q : 7 + 7 * q : 2]
        expected = (w[i, 0] - w[i].min()) / (w[i].max() - w[i].min())
        torch.testing.assert_close(tile, expected)
        assert tile.min() == 0 and tile.max() == 1
    assert grid[0, 0].eq(1).all() and grid[0, :, 0].eq(1).all()  # white padding


def test_filter_grid_colour_and_many_channels():
    rgb = tiny(3)
    grid = filter_grid(rgb, zoom=1, pad=0)
    assert grid.shape == (3, 6, 9)  # 6 colour filters 3x3, 3 per row
    first = grid[:, :3, :3]
    w = rgb.features.conv1.weight[0].detach()
    torch.testing.assert_close(first, (w - w.min()) / (w.max() - w.min()))  # one stretch, 3 colours
    deep = filter_grid(rgb, "features.conv2", zoom=1, pad=0)  # 8 filters x 6 input channels, grey
    assert deep.shape == (1, 8 * 3, 6 * 3)
    with pytest.raises(PixelsmithError, match="not a 2-D convolution"):
        filter_grid(rgb, "features.act1")


def test_srcnn_official_filters_sorted_by_variance(shared_data, tmp_path):
    from pixelsmith.weights import load_srcnn_official

    path = shared_data / "weights" / "srcnn_official" / "9-5-5_ImageNet_x3.mat"
    if not path.is_file():
        pytest.skip("SRCNN official weights not found")
    model = load_srcnn_official(path, 3)
    grid = filter_grid(model, zoom=4, sort=True)
    assert grid.shape == (1, 297, 297)  # 8 x 8 tiles of 36 px
    out = save_filter_grid(model, tmp_path / "f.png", zoom=4)
    assert read_image(out)[0].shape == (1, 297, 297)


# --------------------------------------------------------------------------------------------------
# Activation maps


def test_activation_maps_equal_a_manual_forward(tmp_path):
    model = tiny()
    x = torch.rand(1, 20, 20, generator=torch.Generator().manual_seed(1))
    f = model.features
    manual = f.conv2(f.pool1(torch.relu(f.conv1(x[None]))))[0]
    torch.testing.assert_close(activation_maps(model, x, "features.conv2"), manual)
    torch.testing.assert_close(
        activation_maps(model, x[None], "features.act2"), manual[None].relu()
    )
    # SRCNN starts with bicubic upscaling; conv1 runs on the upscaled image
    srcnn = create_model("srcnn_955", scale=3).eval()
    torch.testing.assert_close(
        activation_maps(srcnn, x, "conv1"), srcnn.conv1(imresize(x[None], 3))[0]
    )
    # the shared ReLU runs twice: call=1 is after conv2
    second = activation_maps(srcnn, x, "relu", call=1)
    assert second.shape == (32, 60, 60) and second.min() >= 0
    # colour input to a grey model goes through luma
    rgb = x.expand(3, -1, -1)
    torch.testing.assert_close(
        activation_maps(model, rgb, "features.conv1"), activation_maps(model, x, "features.conv1")
    )
    grid = activation_grid(manual, zoom=1, pad=1)
    assert grid.shape == (1, 3 * 11 + 1, 3 * 11 + 1)  # 8 maps of 10x10, 3 per row
    tile = grid[0, 1:11, 1:11]
    m = manual[0]
    torch.testing.assert_close(tile, (m - m.min()) / (m.max() - m.min()))
    assert activation_grid(manual, cmap="viridis", channels=[0, 1]).shape[0] == 3
    out = save_activation_grid(model, x, "features.act1", tmp_path / "a.png")
    assert out.is_file()


# --------------------------------------------------------------------------------------------------
# Occlusion


class RegionMean(nn.Module):
    """Output (B, 1): the mean of input rows 4..7, columns 6..9 (a 4 x 4 region)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, 4:8, 6:10].mean((1, 2, 3))[:, None]


def test_occlusion_map_is_the_overlap_with_the_region():
    image = torch.ones(1, 16, 16)
    cells = occlusion_map(RegionMean(), image, 0, patch=3, stride=1, fill=0.0, batch_size=7)
    assert cells.shape == (16, 16)
    # A 3x3 patch centred on (i, j) covers rows i-1..i+1, columns j-1..j+1; hiding k pixels of the
    # 16-pixel region lowers its mean from 1 by k/16.
    assert cells[5, 7] == 9 / 16  # patch inside the region
    assert cells[3, 5] == 1 / 16  # patch overlaps the region's corner pixel (4, 6) only
    assert cells[3, 7] == 3 / 16  # one row of three pixels
    assert cells[2, 7] == 0 and cells[5, 4] == 0 and cells[9, 11] == 0  # next to it: no overlap
    expected = torch.zeros(16, 16)
    for i in range(16):
        for j in range(16):
            rows = len(set(range(i - 1, i + 2)) & set(range(4, 8)))
            cols = len(set(range(j - 1, j + 2)) & set(range(6, 10)))
            expected[i, j] = rows * cols / 16
    torch.testing.assert_close(cells, expected)
    assert (cells > 0).nonzero().min(0).values.tolist() == [3, 5]
    assert (cells > 0).nonzero().max(0).values.tolist() == [8, 10]


def test_occlusion_stride_batching_and_targets(tmp_path):
    image = torch.ones(1, 16, 16)
    # stride 4: patch centres at 2, 6, 10, 14; a 4x4 patch centred at c covers c-2..c+1
    cells = occlusion_map(RegionMean(), image, 0, patch=4, stride=4, fill=0.0)
    expected = torch.zeros(4, 4)
    expected[1, 1] = expected[1, 2] = 8 / 16  # rows 4..7 x columns 6..7, and 8..9
    assert cells.shape == (4, 4)
    torch.testing.assert_close(cells, expected)
    # an image-to-image model: the region target on the output of an x3 bicubic "model"
    sr = create_model("bicubic", scale=3).eval()
    x = torch.rand(1, 12, 12, generator=torch.Generator().manual_seed(0))
    a = occlusion_map(sr, x, region_target(15, 15, 6, 6), patch=2, stride=2, batch_size=5)
    b = occlusion_map(sr, x, parse_target("region:15,15,6,6"), patch=2, stride=2, batch_size=64)
    torch.testing.assert_close(a, b)
    far = a.clone()
    far[1:5, 1:5] = 0  # output rows 15..20 come from input rows 3..8 (bicubic taps): cells 1..4
    assert far.abs().max() < 1e-6 and a.abs().max() > 0.01
    path, _ = save_occlusion(sr, x, "pixel:18,18", tmp_path / "o.png", patch=2, stride=2)
    assert read_image(path)[0].shape[0] == 3
    with pytest.raises(PixelsmithError, match="bad occlusion target"):
        parse_target("logit:3")
    with pytest.raises(PixelsmithError, match="not inside"):
        occlusion_map(sr, x, region_target(30, 30, 10, 10))
    with pytest.raises(PixelsmithError, match="out of range"):
        occlusion_map(tiny(), x, 5, patch=2, stride=2)


# --------------------------------------------------------------------------------------------------
# Top patches


PATTERN = torch.tensor([[1.0, 0, 1], [0, 1, 0], [1, 0, 1]])


def detector(pool: bool = False) -> nn.Sequential:
    """A matched filter for PATTERN (zero-mean kernel), optionally followed by a 2x2 max-pool."""
    conv = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight[0, 0] = PATTERN - PATTERN.mean()
    layers = OrderedDict(conv=conv)
    if pool:
        layers["pool"] = nn.MaxPool2d(2)
    return nn.Sequential(layers).eval()


def images_with_a_planted_pattern() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    images = {f"noise{i}": 0.4 + 0.2 * torch.rand(1, 20, 24, generator=g) for i in range(6)}
    images["noise3"][0, 10:13, 7:10] = PATTERN  # rows 10..12, columns 7..9, centre (11, 8)
    return images


def test_top_patch_is_the_planted_pattern():
    images = images_with_a_planted_pattern()
    patches = top_patches(detector(), images, "conv", 0, k=3)
    assert [p.source for p in patches][0] == "noise3" and len(patches) == 3
    top = patches[0]
    assert top.location == (11, 8) and top.box == (10, 7, 3, 3)
    torch.testing.assert_close(top.pixels[0], PATTERN)
    assert patches[0].score > patches[1].score >= patches[2].score
    assert all(p.pixels.shape == (1, 3, 3) for p in patches)
    assert patch_grid(patches, ncol=3, zoom=1, pad=1).shape == (1, 5, 13)


def test_top_patch_through_a_pooled_net_holds_the_pattern(tmp_path):
    from pixelsmith.io import write_image

    for name, image in images_with_a_planted_pattern().items():
        write_image(tmp_path / f"{name}.png", image)
    patches = top_patches(detector(pool=True), tmp_path, "pool", 0, k=2)
    top = patches[0]
    assert top.source == "noise3.png"
    # a pooled unit sees 2x2 conv outputs, each 3x3 pixels: a 4x4 field around (11, 8)
    assert top.location == (5, 4) and top.box == (9, 7, 4, 4)
    torch.testing.assert_close(top.pixels[0, 1:, :3], PATTERN, atol=1 / 255, rtol=0)


def test_receptive_field_by_gradient_and_by_nan():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(2, 2, 3, padding=1)
    )
    # pooled (i, j) -> pooled i-1..i+1 -> conv rows 2i-2..2i+3 -> input rows 2i-3..2i+4
    for method in ("gradient", "nan"):
        assert receptive_field(net, "3", (1, 24, 24), 5, 6, method=method) == (7, 9, 8, 8)
        assert receptive_field(net, "3", (1, 24, 24), 0, 0, method=method) == (0, 0, 5, 5)
        assert receptive_field(net, "3", (1, 24, 24), 11, 11, method=method) == (19, 19, 5, 5)
    # one input is not enough for the gradient: a max-pool passes it to one pixel of its window
    pooled = detector(pool=True)
    assert receptive_field(pooled, "pool", (1, 20, 24), 5, 4, samples=1)[2:] == (3, 3)
    assert receptive_field(pooled, "pool", (1, 20, 24), 5, 4) == (9, 7, 4, 4)
    with torch.no_grad():
        net[0].weight.zero_()  # NaN finds the structural field even with zero weights
    assert receptive_field(net, "3", (1, 24, 24), 5, 6, method="nan") == (7, 9, 8, 8)
    srcnn = create_model("srcnn_955", scale=3)
    # conv1 at HR row 30 sees HR rows 26..34, which bicubic (4 taps) makes from LR rows 7..12
    assert receptive_field(srcnn, "conv1", (1, 20, 20), 30, 30) == (7, 7, 6, 6)
    with pytest.raises(PixelsmithError, match="outside"):
        receptive_field(srcnn, "conv1", (1, 20, 20), 60, 0)


# --------------------------------------------------------------------------------------------------
# Feature visualisation


def high_frequency_share(image: torch.Tensor) -> float:
    """Share of the (mean-removed) spectral power above 0.25 cycles per pixel."""
    power = torch.fft.rfft2(image - image.mean()).abs() ** 2
    return float(power[..., fv.fft_frequencies(*image.shape[-2:]) > 0.25].sum() / power.sum())


def test_fourier_image_is_in_range_and_shaped():
    g = torch.Generator().manual_seed(0)
    for c, decorrelate in ((1, True), (3, True), (3, False)):
        param = fv.FourierImage(c, 17, 24, batch=2, sd=1.0, decorrelate=decorrelate, generator=g)
        img = param()
        assert img.shape == (2, c, 17, 24)
        assert img.min() >= 0 and img.max() <= 1 and img.std() > 0.05
    freqs = fv.fft_frequencies(8, 8)
    assert freqs[0, 0] == 0 and freqs.shape == (8, 5) and freqs.max() == pytest.approx(0.5**0.5)
    start = fv.FourierImage(3, 16, 16, generator=g)()  # sd 0.01: nearly flat grey
    assert (start - 0.5).abs().max() < 0.05


@pytest.mark.parametrize("channels", [1, 3])
def test_feature_vis_raises_the_activation_and_smooths_the_image(channels):
    net = edge_net(channels)
    full = fv.visualize_feature(net, "act2", 0, size=(24, 24), steps=64)
    naive = fv.visualize_feature(net, "act2", 0, size=(24, 24), steps=64, **fv.NAIVE)
    # measured: full x9.5 (grey), x7.8 (colour); naive x12.5; over the same model's start image
    assert full.start_activation > 0.5
    assert full.activation >= 5 * full.start_activation
    assert naive.activation >= 5 * naive.start_activation
    assert full.image.shape == (channels, 24, 24) and 0 <= full.image.min() <= full.image.max() <= 1
    # plain pixels give high-frequency noise (measured 0.77-0.82 of the power), the Fourier
    # parameterisation with transforms a smoother image (0.30-0.40)
    assert high_frequency_share(naive.image) > high_frequency_share(full.image) + 0.2
    assert net.conv1.weight.grad is None  # the model is left alone


def test_compare_feature_vis_puts_naive_above_full(tmp_path):
    grid, results = fv.compare_feature_vis(edge_net(), "act2", [0], size=(12, 12), steps=4, zoom=1)
    assert grid.shape == (1, 2 * 14 + 2, 14 + 2) and len(results) == 2
    torch.testing.assert_close(grid[0, 2:14, 2:14], results[0].image[0])
    path, res = fv.save_feature_vis(
        edge_net(), "act2", [0], tmp_path / "fv.png", size=(12, 12), steps=2
    )
    assert path.is_file() and len(res) == 1


def test_make_grid_layout():
    tiles = torch.arange(5.0).view(5, 1, 1, 1) / 4
    grid = make_grid(tiles, 2, pad=1, pad_value=1.0, zoom=2)
    assert grid.shape == (1, 3 * 3 + 1, 2 * 3 + 1)
    assert grid[0, 4, 4] == 0.75 and grid[0, 7, 1] == 1.0  # tiles 3 and 4
    assert grid[0, 7, 4] == 1.0 and grid[0, 0].eq(1).all()  # the empty sixth slot, the padding
