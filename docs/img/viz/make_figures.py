"""Draw every figure of docs/seeing-inside.md into this folder, and print the numbers quoted there.

    python docs/img/viz/make_figures.py [srcnn] [faces]   # about a minute on one CPU thread

Needs the shared data folder (SRCNN's official weights, Set5) and the shipped face classifier
``classify_smallconvnet_faces``; scikit-image's ``lfw_subset`` gives the faces.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from pixelsmith.color import rgb_to_y
from pixelsmith.io import read_image
from pixelsmith.paths import data_dir
from pixelsmith.resize import imresize
from pixelsmith.tasks.classify import load_lfw_subset
from pixelsmith.viz import feature_vis as fv
from pixelsmith.viz.activations import activation_grid, activation_maps
from pixelsmith.viz.filters import filter_grid
from pixelsmith.viz.grid import colormap, overlay, save_image, titled, vstack
from pixelsmith.viz.occlusion import occlusion_map, region_target, to_pixels
from pixelsmith.viz.top_patches import patch_grid, receptive_field, top_patches
from pixelsmith.weights import load_srcnn_official
from pixelsmith.resolver import load_model

OUT = Path(__file__).resolve().parent
FACE = 1  # classify task: 0 non-face, 1 face


def zoom(image: torch.Tensor, k: int) -> torch.Tensor:
    return image.repeat_interleave(k, -2).repeat_interleave(k, -1)


def srcnn_figures() -> None:
    data = data_dir()
    model = load_srcnn_official(data / "weights" / "srcnn_official" / "9-5-5_ImageNet_x3.mat", 3)
    save_image(OUT / "srcnn_filters.png", filter_grid(model, zoom=4, sort=True))
    save_image(
        OUT / "srcnn_filters_symmetric.png", filter_grid(model, zoom=4, sort=True, symmetric=True)
    )

    hr = rgb_to_y(read_image(data / "set5" / "butterfly.png")[0][None])  # (1, 1, 256, 256)
    lr = imresize(hr, 1 / 3)[0, :, 30:70, 20:60]  # a 40 x 40 crop of the LR wing
    maps = activation_maps(model, lr, "relu")  # after conv1 + ReLU: (64, 120, 120)
    order = model.conv1.weight.flatten(1).var(1).argsort(descending=True)
    save_image(
        OUT / "srcnn_activations.png",
        titled(
            [zoom(lr, 3), activation_grid(maps, channels=order[:16].tolist(), ncol=8)],
            ["input (bicubic x3 inside)", "conv1 + ReLU, filters 1-16 by variance"],
        ),
    )

    # occlusion: which input pixels change the mean of a 6x6 output region (x3 output pixels)
    target = region_target(57, 57, 6, 6)
    cells = occlusion_map(model, lr, target, patch=3, stride=1, fill=0.5)
    heat_vals = to_pixels(cells, 1, lr.shape[-2:])
    m = float(heat_vals.abs().max())
    heat = colormap(heat_vals, "RdBu_r", -m, m)
    marked = lr.expand(3, -1, -1).clone()
    marked[:, 19:21, 19:21] = torch.tensor([0.0, 0.8, 0.0])[:, None, None]  # LR pixels 19..20
    nonzero = (cells.abs() > 1e-6).nonzero()
    first = receptive_field(model, "conv3", tuple(lr.shape), 57, 57)
    last = receptive_field(model, "conv3", tuple(lr.shape), 62, 62)
    print(
        f"SRCNN occlusion: 3x3 patches centred on LR rows {int(nonzero[:, 0].min())}.."
        f"{int(nonzero[:, 0].max())} change output rows 57..62; receptive fields (top, left, "
        f"height, width) of output pixels (57, 57): {first}, (62, 62): {last}"
    )
    save_image(
        OUT / "srcnn_occlusion.png",
        titled(
            [zoom(marked, 4), zoom(heat, 4), zoom(overlay(lr, heat), 4)],
            ["input, target region in green", "drop of the region's mean", "overlay"],
        ),
    )


def faces_figures() -> None:
    model, _ = load_model("classify_smallconvnet_faces")
    faces = load_lfw_subset()
    test, labels = faces.test_images, faces.test_labels
    face, nonface = test[labels == 1][0], test[labels == 0][0]

    save_image(
        OUT / "faces_filters.png",
        titled(
            [filter_grid(model, zoom=12, ncol=8), filter_grid(model, "features.1.conv", zoom=6)],
            ["features.0.conv: 8 filters 3x3", "features.1.conv: 16 filters x 8 inputs"],
        ),
    )

    rows = [titled([zoom(face, 4), zoom(nonface, 4)], ["a held-out face", "a non-face"])]
    for layer in ("features.0.act", "features.1.act", "features.2.act"):
        grids = []
        for image in (face, nonface):
            maps = activation_maps(model, image, layer)
            k = round(48 / maps.shape[-1])
            grids.append(activation_grid(maps, normalise="layer", ncol=8, zoom=k))
        rows.append(titled(grids, [f"{layer} {tuple(maps.shape)}"] * 2))
    save_image(OUT / "faces_activations.png", vstack(rows))

    # occlusion of the face logit: four held-out faces and two non-faces
    shown = [*test[labels == 1][:4], *test[labels == 0][:2]]
    columns, titles = [], []
    t = time.perf_counter()
    for image in shown:
        cells = occlusion_map(model, image, FACE, patch=5, stride=1, fill=0.5)
        m = float(cells.abs().max())
        heat = colormap(cells, "RdBu_r", -m, m)
        columns.append(
            torch.cat([zoom(image.expand(3, -1, -1), 5), zoom(overlay(image, heat), 5)], 1)
        )
        logit = float(model(image[None])[0, FACE].detach())
        titles.append(f"logit {logit:.1f}, max drop {float(cells.max()):.1f}")
    print(
        f"occlusion, 6 images x 625 patch positions: {time.perf_counter() - t:.2f} s; "
        + "; ".join(titles)
    )
    save_image(OUT / "faces_occlusion.png", titled(columns, titles))

    # top-9 patches of four units of the last conv block, over all 200 images
    all_images = torch.cat([faces.train_images, test])
    all_labels = torch.cat([faces.train_labels, labels]).tolist()
    images = {
        f"{'face' if lab == FACE else 'other'}{i:03d}": all_images[i]
        for i, lab in enumerate(all_labels)
    }
    rows, names = [], []
    for ch in (0, 1, 2, 5):
        patches = top_patches(model, images, "features.2.act", ch, k=9)
        rows.append(patch_grid(patches, ncol=9, zoom=4, pad=2))
        face_share = sum(p.source.startswith("face") for p in patches)
        names.append(f"channel {ch}: {face_share}/9 faces, field {patches[0].pixels.shape[-1]} px")
    save_image(OUT / "faces_top_patches.png", titled(rows[:2], names[:2]))
    save_image(OUT / "faces_top_patches_2.png", titled(rows[2:], names[2:]))
    print("top patches:", "; ".join(names))

    # feature visualisation: naive vs Fourier + transforms, for two layers and the face logit
    for layer, channels in (("features.1.act", range(8)), ("features.2.act", range(8))):
        grid, res = fv.compare_feature_vis(model, layer, list(channels), steps=256)
        save_image(
            OUT / f"faces_features_{layer.split('.')[1]}.png",
            titled([grid], [f"{layer}: top naive pixels, bottom Fourier + transforms"]),
        )
        _report(layer, res, len(channels))
    naive = fv.visualize_feature(model, "classifier.fc2", FACE, steps=256, **fv.NAIVE)
    full = fv.visualize_feature(model, "classifier.fc2", FACE, steps=256)
    mean_face = test[labels == 1].mean(0)
    logits = model(torch.stack([mean_face, naive.image, full.image])).detach()
    save_image(
        OUT / "faces_face_logit.png",
        titled(
            [zoom(mean_face, 4), zoom(naive.image, 4), zoom(full.image, 4)],
            [
                f"mean face: {logits[0, FACE]:.1f}",
                f"naive: {logits[1, FACE]:.1f}",
                f"Fourier + transforms: {logits[2, FACE]:.1f}",
            ],
        ),
    )
    print(
        f"face logit: start {full.start_activation:.2f} -> naive {naive.activation:.1f}, full "
        f"{full.activation:.1f}; mean held-out face {logits[0, FACE]:.1f}"
    )


def _report(layer: str, results: list[fv.FeatureVis], n: int) -> None:
    naive, full = results[:n], results[n:]
    hf = [[_high_frequency_share(r.image) for r in group] for group in (naive, full)]
    ratio = [
        [r.activation / max(r.start_activation, 1e-6) for r in group if r.activation > 0]
        for group in (naive, full)
    ]
    print(
        f"{layer}: activation / start, median naive {torch.tensor(ratio[0]).median():.1f}, full "
        f"{torch.tensor(ratio[1]).median():.1f}; high-frequency share of the power, mean naive "
        f"{sum(hf[0]) / n:.2f}, full {sum(hf[1]) / n:.2f}"
    )


def _high_frequency_share(image: torch.Tensor) -> float:
    power = torch.fft.rfft2(image - image.mean()).abs() ** 2
    return float(power[..., fv.fft_frequencies(*image.shape[-2:]) > 0.25].sum() / power.sum())


if __name__ == "__main__":
    torch.set_num_threads(1)
    parts = sys.argv[1:] or ["srcnn", "faces"]
    if "srcnn" in parts:
        srcnn_figures()
    if "faces" in parts:
        faces_figures()
