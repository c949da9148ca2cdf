"""Training data: folders of photos, random crops, and the degradations that make training pairs."""

from pixelsmith.data.photos import PhotoFolder

__all__ = ["PhotoFolder"]
