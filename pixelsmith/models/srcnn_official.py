"""The SRCNN authors' MATLAB models (``.mat`` from the SRCNN package), converted into :class:`SRCNN`.

The file comes from the user (nothing is downloaded); the task loads it through
:meth:`pixelsmith.tasks.superres.SuperRes.load_official`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from pixelsmith.errors import PixelsmithError
from pixelsmith.models.srcnn import SRCNN


def load_srcnn_official(path: str | Path, scale: int) -> nn.Module:
    """Load the authors' SRCNN MATLAB model (``.mat`` from the SRCNN package) into :class:`SRCNN`.

    The MATLAB file stores each filter as a column-major vector, applied by correlation
    (``imfilter``) with replicate padding on the bicubic-upscaled Y channel in [0, 1].
    """
    from scipy.io import loadmat

    path = Path(path)
    if not path.is_file():
        raise PixelsmithError("SRCNN .mat file not found", path)
    try:
        m = loadmat(str(path))
    except Exception as e:  # scipy raises several types for a bad file
        raise PixelsmithError(f"cannot read MATLAB file ({e})", path) from None
    try:
        w1, b1 = m["weights_conv1"], m["biases_conv1"]
        w2, b2 = m["weights_conv2"], m["biases_conv2"]
        w3, b3 = m["weights_conv3"], m["biases_conv3"]
    except KeyError as e:
        raise PixelsmithError(f"not an SRCNN model file (missing {e})", path) from None
    f1 = int(round(w1.shape[0] ** 0.5))
    n1 = w1.shape[1]
    if w2.ndim == 2:  # 9-1-5: (n1, n2)
        f2, n2 = 1, w2.shape[1]
        w2 = w2[:, None, :]
    else:  # (n1, f2*f2, n2)
        f2, n2 = int(round(w2.shape[1] ** 0.5)), w2.shape[2]
    f3 = int(round(w3.shape[1] ** 0.5))

    model = SRCNN(scale=scale, f1=f1, f2=f2, f3=f3, n1=n1, n2=n2)

    def col_major(v, f):  # MATLAB reshape(v, f, f)
        return torch.from_numpy(v.reshape(f, f, order="F").astype("float32"))

    with torch.no_grad():
        for k in range(n1):
            model.conv1.weight[k, 0] = col_major(w1[:, k], f1)
        model.conv1.bias.copy_(torch.from_numpy(b1.ravel().astype("float32")))
        for i in range(n2):
            for j in range(n1):
                model.conv2.weight[i, j] = col_major(w2[j, :, i], f2)
        model.conv2.bias.copy_(torch.from_numpy(b2.ravel().astype("float32")))
        for i in range(n2):
            model.conv3.weight[0, i] = col_major(w3[i, :], f3)
        model.conv3.bias.copy_(torch.from_numpy(b3.ravel().astype("float32")))
    return model.eval()
