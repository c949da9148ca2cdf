"""Tasks: each is a degradation and its inverse (see shared/DESIGN.md).

A task says how to make a training pair from clean photos, which loss to use, how to measure the
result, and how to turn a user's image into the model's input and back.
"""

from pixelsmith.tasks.base import Task

__all__ = ["Task"]
