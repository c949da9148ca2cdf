"""Training data: folders of photos, random crops, and the degradations that make training pairs
(blur, noise, under-exposure, unprocessing to raw, Bayer mosaics and their packing, hole masks)."""

from pixelsmith.data.photos import PhotoFolder

__all__ = ["PhotoFolder"]
