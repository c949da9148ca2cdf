"""Parameter accounting: the lecture's figures exactly, and summary() against measured behaviour."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.nn import (
    FullyConnected,
    LocallyConnected2d,
    conv_output_shape,
    conv_output_size,
    conv_params,
    fully_connected_params,
    locally_connected_params,
    receptive_field,
    summary,
)


def test_lecture_figures():
    assert fully_connected_params((1, 200, 200), 40_000) == 1_600_000_000  # "~2B"
    assert locally_connected_params((1, 200, 200), 40_000, 10) == 4_000_000
    assert conv_params(1, 1, 10) == 100
    assert conv_params(1, 1, 10, bias=True) == 101
    assert conv_output_shape((3, 32, 32), 6, 5) == (6, 28, 28)
    conv = nn.Conv2d(3, 6, 5)
    assert conv_params(3, 6, 5, bias=True) == sum(p.numel() for p in conv.parameters())


def test_summary_of_six_5x5_filters_on_a_32x32x3_image():
    s = summary(nn.Conv2d(3, 6, 5), (3, 32, 32))
    (row,) = s.rows
    assert row.output_shape == (6, 28, 28)
    assert row.params == s.total_params == 6 * 3 * 25 + 6
    assert row.macs == s.total_macs == 28 * 28 * 6 * 3 * 25
    assert row.receptive_field == (5, 5)
    assert "6x28x28" in str(s) and "mult-adds" in str(s)


def test_summary_counts_the_lecture_fully_connected_layer_without_allocating_it():
    s = summary(FullyConnected((1, 200, 200), 40_000, bias=False, device="meta"), (1, 200, 200))
    assert s.total_params == 1_600_000_000
    assert s.rows[0].output_shape == (40_000,) and s.rows[0].receptive_field == (200, 200)


@pytest.mark.parametrize(
    "n,k,s,p,d",
    [
        (32, 5, 1, 0, 1),
        (25, 3, 2, 1, 1),
        (17, 3, 3, 2, 2),
        (8, 8, 1, 0, 1),
        (9, 2, 2, 0, 1),
        (10, 4, 3, 3, 3),
    ],
)
def test_conv_output_size_matches_conv2d(n, k, s, p, d):
    y = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)(torch.zeros(1, 1, n, n))
    assert conv_output_size(n, k, s, p, d) == y.shape[-1]


def test_conv_output_size_rejects_impossible_geometry():
    with pytest.raises(PixelsmithError, match="does not fit"):
        conv_output_size(4, 5)
    with pytest.raises(PixelsmithError, match="invalid"):
        conv_output_size(4, 3, stride=0)


def _lenet() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 6, 5),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120),
        nn.ReLU(),
        nn.Linear(120, 10),
    )


def test_summary_rows_follow_the_network():
    torch.manual_seed(0)
    s = summary(_lenet(), (3, 32, 32))
    assert [r.name for r in s.rows] == [str(i) for i in range(10)]
    assert [r.output_shape for r in s.rows] == [
        (6, 28, 28),
        (6, 28, 28),
        (6, 14, 14),
        (16, 10, 10),
        (16, 10, 10),
        (16, 5, 5),
        (400,),
        (120,),
        (120,),
        (10,),
    ]
    assert [r.receptive_field[0] for r in s.rows] == [5, 5, 6, 14, 14, 16, 16, 32, 32, 32]
    assert (
        s.total_params
        == sum(p.numel() for p in _lenet().parameters())
        == sum(r.params for r in s.rows)
    )
    assert s.total_macs == 28 * 28 * 6 * 75 + 10 * 10 * 16 * 150 + 400 * 120 + 120 * 10


def _measured_receptive_field(model: nn.Module, size: int) -> int:
    """Width of the input region the centre output depends on (from the gradient)."""
    x = torch.randn(1, 1, size, size, requires_grad=True)
    y = model(x)
    y[0, 0, y.shape[-2] // 2, y.shape[-1] // 2].backward()
    cols = (x.grad[0, 0].abs() > 0).any(0).nonzero()
    return int(cols.max() - cols.min() + 1)


@pytest.mark.parametrize(
    "layers",
    [
        [nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3)],
        [nn.Conv2d(1, 2, 5), nn.AvgPool2d(2), nn.Conv2d(2, 2, 5)],
        [
            nn.Conv2d(1, 2, 3, dilation=2),
            nn.Tanh(),
            nn.Conv2d(2, 2, 3, stride=2),
            nn.AvgPool2d(3, 2),
            nn.Conv2d(2, 2, 3, dilation=3),
        ],
        [LocallyConnected2d(1, 2, 3, 41, stride=2), nn.Conv2d(2, 1, 4, stride=3)],
    ],
)
def test_summary_receptive_field_is_the_measured_one(layers):
    torch.manual_seed(0)
    model = nn.Sequential(*layers)
    size = 41
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(0.5, 1.5)  # no cancellations: the gradient is non-zero across the field
    rf = summary(model, (1, size, size)).rows[-1].receptive_field
    assert rf[0] == rf[1] == _measured_receptive_field(model, size)
    geometry = [
        (
            m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0],
            m.stride if isinstance(m.stride, int) else m.stride[0],
            getattr(m, "dilation", 1)
            if isinstance(getattr(m, "dilation", 1), int)
            else m.dilation[0],
        )
        for m in layers
        if hasattr(m, "kernel_size")
    ]
    assert receptive_field(geometry) == rf[0]


def test_receptive_field_arithmetic():
    assert receptive_field([(3, 1), (3, 1)]) == 5
    assert receptive_field([(5, 1), (2, 2), (5, 1)]) == 14
    assert receptive_field([(3, 1, 2)]) == 5


class _Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Conv2d(1, 4, 3, padding=1)
        self.a = nn.Conv2d(4, 4, 3, padding=1)
        self.b = nn.Conv2d(4, 4, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 2)
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        h = self.head(x)
        h = h + self.b(torch.relu(self.a(h)))  # a branch
        h = self.a(h)  # a shared module, called twice
        return self.fc(self.pool(h).flatten(1)) * self.scale


def test_summary_of_a_branching_net_with_a_shared_module():
    model = _Residual()
    s = summary(model, (1, 16, 16))
    assert [r.name for r in s.rows] == ["head", "a", "b", "a", "pool", "fc", "_Residual"]
    assert [r.receptive_field[0] for r in s.rows[:4]] == [3, 5, 7, 9]
    assert s.rows[3].params == 0, "a shared module's parameters are counted once"
    assert s.rows[-1].params == 1  # the root holds a parameter of its own
    assert s.rows[-1].receptive_field == s.rows[-2].receptive_field == (16, 16)
    assert (
        s.total_params
        == sum(p.numel() for p in model.parameters())
        == sum(r.params for r in s.rows)
    )
    assert model.training, "summary restores the training mode"


def test_summary_of_a_non_image_model_has_no_receptive_field():
    s = summary(nn.Sequential(nn.Linear(8, 4), nn.ReLU()), (8,))
    assert [r.output_shape for r in s.rows] == [(4,), (4,)]
    assert all(r.receptive_field is None for r in s.rows)
    assert s.total_macs == 32
