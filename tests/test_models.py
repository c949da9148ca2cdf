"""One test over every registered model (as timm does), plus the SRCNN paper's own weights."""

from __future__ import annotations

import pytest
import torch

from pixelsmith.errors import PixelsmithError
from pixelsmith.models import create_model, list_models
from pixelsmith.resize import imresize

SR_MODELS = list_models(task="superres")

#: A small valid input for a model of each task.
EXAMPLE_INPUT = {
    "superres": (2, 1, 9, 7),
    "classify": (2, 1, 25, 25),
    "colorize": (2, 1, 32, 48),
    "lowlight": (2, 3, 64, 128),
    "develop": (2, 13, 16, 32),
    "inpaint": ((2, 3, 64, 64), (2, 1, 64, 64)),  # the photo and its mask (1 = known)
}


def _example_input(name: str) -> tuple:
    """The example input shape(s) of the first task (in EXAMPLE_INPUT's order) that ``name``
    serves: one shape, or a tuple of shapes for a model of several inputs."""
    for task, shape in EXAMPLE_INPUT.items():
        if name in list_models(task=task):
            return shape
    raise AssertionError(f"{name}: no example input for its task; add one to EXAMPLE_INPUT")


@pytest.mark.parametrize("name", list_models())
def test_every_model_builds_runs_and_learns(name):
    """Every registered architecture: forward on its task's input (a batch of two: batch norm
    in training mode needs two values at a 1 x 1 bottleneck), finite output, gradients flow to the
    input and to the weights, and a traced copy (as exported) agrees with eager mode. The two
    paths are compared in float64, relative to the output's scale: random-weight outputs are
    unnormalised, and float32 kernels differ by CPU.

    The copy is traced on the first example alone and compared on both, the second an input it
    was not traced on (where a value the trace froze as a constant can show). ``torch.jit.trace``'s
    own ``check_trace`` (a second trace, its graph compared, both run on the tracing input at a
    tolerance of 1e-5) is off: it took most of this test's time on the paper's PConv U-Net."""
    torch.manual_seed(0)
    model = create_model(name)
    g = torch.Generator().manual_seed(1)
    shapes = _example_input(name)
    shapes = shapes if isinstance(shapes[0], tuple) else (shapes,)
    k = model.spec.size_multiple  # the paper's PConv U-Net takes multiples of 256
    xs = [torch.rand(*s[:2], *(-(-d // k) * k for d in s[2:]), generator=g) for s in shapes]
    if len(xs) == 2:  # a mask: 1 = known, 0 = hole
        xs[1] = (xs[1] > 0.4).float()
    x = xs[0].requires_grad_()
    y = model(*xs)
    assert y.shape[0] == x.shape[0] and torch.isfinite(y).all()
    if not getattr(model, "differentiable", True):  # a classical baseline (NumPy inside)
        assert y.shape == x.shape and not list(model.parameters())
        return
    y.square().mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(d is None or torch.isfinite(d).all() for d in grads)
    if grads:  # some weights get a gradient (a zero-initialised tail: only the tail, at first)
        assert any(d is not None and bool(d.abs().sum() > 0) for d in grads)
    model.eval().double()
    x64 = tuple(t.detach().double() for t in xs)
    with torch.no_grad():
        traced = torch.jit.trace(model, tuple(t[:1] for t in x64), check_trace=False)
        for i in range(len(x64[0])):
            one = tuple(t[i : i + 1] for t in x64)
            want = model(*one)
            got = traced(*one)
            assert got.dtype == torch.float64 and got.shape == want.shape
            scale = float(want.abs().max()) or 1.0
            torch.testing.assert_close(got, want, rtol=0, atol=1e-12 * scale)


@pytest.mark.parametrize("name", SR_MODELS)
@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("size", [(1, 1), (3, 5), (17, 10), (32, 32)])
def test_sr_model_shapes_and_backward(name, scale, size):
    """LR (B, 1, h, w) -> HR (B, 1, s*h, s*w) for odd, tiny (below the receptive field) and square sizes."""
    torch.manual_seed(0)
    model = create_model(name, scale=scale)
    x = torch.rand(2, 1, *size, requires_grad=True)
    y = model(x)
    assert y.shape == (2, 1, size[0] * scale, size[1] * scale)
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("name", SR_MODELS)
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_receptive_field_is_an_upper_bound(name, scale):
    """Changing input pixels farther than the stated radius, on any side, leaves the centre
    output unchanged (tiled inference relies on it), and the bound is tight to one pixel: changing
    the ring one pixel inside it does change the output.

    In float64 a pixel outside the field enters no sum at all (or with a weight of exactly 0), so
    the outputs agree to rounding whatever the convolution algorithm; the tolerance is relative to
    the output's scale, and a real dependence is 1e-4 of it or more.
    """
    torch.manual_seed(0)
    model = create_model(name, scale=scale).eval().double()
    for p in model.parameters():  # make every layer active (LRNet's tail starts at zero)
        torch.nn.init.normal_(p, std=0.1)
    r = (model.receptive_field - 1) // 2
    n = 2 * r + 9
    m = n // 2  # the centre LR pixel; its outputs are rows/cols m*s .. m*s+s-1
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 1, n, n, generator=g, dtype=torch.float64)
    other = torch.rand(n, n, generator=g, dtype=torch.float64)
    i = torch.arange(n)
    distance = torch.maximum((i[:, None] - m).abs(), (i[None, :] - m).abs())  # from the centre
    c = slice(m * scale, m * scale + scale)
    with torch.no_grad():
        y = model(x)[..., c, c]
        far = model(torch.where(distance > r, other, x))[..., c, c]
        inside = model(torch.where(distance == r - 1, other, x))[..., c, c]
    out_scale = float(y.abs().max())
    torch.testing.assert_close(far, y, rtol=0, atol=1e-12 * out_scale)
    assert float((inside - y).abs().max()) > 1e-6 * out_scale


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(PixelsmithError, match="srcnn_955"):
        create_model("no_such_net")


def test_parameter_counts_match_the_architectures():
    # SRCNN 9-5-5 (paper: n1 = 64, n2 = 32): 1*81*64+64 + 64*25*32+32 + 32*25*1+1
    assert sum(p.numel() for p in create_model("srcnn_955").parameters()) == 5248 + 51232 + 801
    assert sum(p.numel() for p in create_model("srcnn_915").parameters()) == 5248 + 2080 + 801
    assert sum(p.numel() for p in create_model("bicubic").parameters()) == 0


@pytest.mark.parametrize(
    "name,scale,paper",
    [
        ("9-5-5_ImageNet", 2, 36.66),  # TPAMI 2016, Table 2
        ("9-5-5_ImageNet", 3, 32.75),
        ("9-5-5_ImageNet", 4, 30.49),
        ("9-3-5_ImageNet", 3, 32.66),  # TPAMI 2016, filter-size study
        ("9-1-5_ImageNet", 3, 32.52),
        ("9-1-5_91images", 2, 36.34),  # ECCV 2014, Table 1
        ("9-1-5_91images", 3, 32.39),
        ("9-1-5_91images", 4, 30.09),
    ],
)
def test_official_srcnn_weights_reproduce_the_paper(shared_data, name, scale, paper):
    """The authors' models, loaded into our SRCNN, give their published Set5 figures."""
    from pixelsmith.tasks.superres import SuperRes
    from pixelsmith.weights import load_srcnn_official

    net = load_srcnn_official(shared_data / f"weights/srcnn_official/{name}_x{scale}.mat", scale)
    got = SuperRes(scale).evaluate(net, shared_data / "set5")["psnr"]
    assert abs(got - paper) < 0.05, got


def test_srcnn_upsamples_with_matlab_bicubic():
    """SRCNN's first step is MATLAB bicubic: with an identity network the output is the bicubic image."""
    model = create_model("srcnn_915", scale=3)
    with torch.no_grad():
        for conv in (model.conv1, model.conv2, model.conv3):
            conv.weight.zero_()
            conv.bias.zero_()
        model.conv1.weight[0, 0, 4, 4] = 1.0
        model.conv2.weight[0, 0, 0, 0] = 1.0
        model.conv3.weight[0, 0, 2, 2] = 1.0
    model.double()
    x = torch.rand(1, 1, 8, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    expected = imresize(x, 3).clamp(min=0)
    with torch.no_grad():
        torch.testing.assert_close(model(x), expected, atol=1e-12, rtol=0)  # values in [0, 1]
