"""Architectures, one file per family, created by name through :func:`create_model`."""

# isort: off
from pixelsmith.models._registry import (
    ModelSpec,
    create_model,
    list_models,
    model_device,
    model_dtype,
    model_spec,
    model_tasks,
    register_model,
)
from pixelsmith.models import (  # noqa: F401  (registers them)
    bicubic,
    classical_inpaint,
    classical_lowlight,
    colornet,
    colorunet,
    curves,
    deepupe,
    inpaint_vae,
    lrnet,
    pconv_unet,
    smallconvnet,
    srcnn,
    unet,
    unet_gan,
    zero_dce,
)

# isort: on

__all__ = [
    "ModelSpec",
    "create_model",
    "list_models",
    "model_device",
    "model_dtype",
    "model_spec",
    "model_tasks",
    "register_model",
]
