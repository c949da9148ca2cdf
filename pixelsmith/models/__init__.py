"""Architectures, one file per family, created by name through :func:`create_model`."""

from pixelsmith.models import bicubic, lrnet, smallconvnet, srcnn  # noqa: F401  (registers the models)
from pixelsmith.models._registry import create_model, list_models, model_task, register_model

__all__ = ["create_model", "list_models", "model_task", "register_model"]
