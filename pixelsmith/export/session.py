"""An ONNX Runtime session called like a module (what both the exporter's check and the runtime
run)."""

from __future__ import annotations

import numpy as np
import torch

from pixelsmith.errors import PixelsmithError


def onnxruntime_module():
    """The onnxruntime package, or a clear error naming the extra that installs it."""
    try:
        import onnxruntime
    except ImportError:
        raise PixelsmithError(
            "running an ONNX model needs onnxruntime (a pixelsmith dependency): pip install onnxruntime"
        ) from None
    return onnxruntime


class OrtRunner:
    """An ONNX Runtime session called like a module: ``(*tensors) -> tensor`` (or a tuple, for
    a graph of several outputs). Inputs go in as float32 NumPy arrays on the CPU; outputs come
    back as tensors on the first input's device and in its dtype. The session uses as many
    threads as PyTorch does (``torch.get_num_threads()`` when it is made), and they sleep
    between calls rather than spin, since the pipeline's own PyTorch work runs between them."""

    def __init__(self, data: bytes, providers: list[str] | None = None) -> None:
        ort = onnxruntime_module()
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: no warnings about unused initialisers
        # idle threads sleep instead of spinning: torch's decode runs between the calls
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            data, options, providers=providers or ["CPUExecutionProvider"]
        )
        self.input_names = [i.name for i in self.session.get_inputs()]

    def metadata(self) -> dict[str, str]:
        return dict(self.session.get_modelmeta().custom_metadata_map)

    def __call__(self, *inputs: torch.Tensor):
        if len(inputs) != len(self.input_names):
            raise ValueError(
                f"this ONNX model takes {len(self.input_names)} inputs "
                f"({', '.join(self.input_names)}), got {len(inputs)}"
            )
        feed = {
            name: np.ascontiguousarray(t.detach().to("cpu", torch.float32).numpy())
            for name, t in zip(self.input_names, inputs, strict=True)
        }
        first = inputs[0]
        dtype = first.dtype if first.is_floating_point() else torch.float32
        outs = [torch.from_numpy(o).to(first.device, dtype) for o in self.session.run(None, feed)]
        return outs[0] if len(outs) == 1 else tuple(outs)
