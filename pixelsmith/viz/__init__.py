"""Seeing inside networks, and the figures pixelsmith draws."""
