"""The package version, in one place (read by weight files' metadata)."""

__version__ = "0.1.0"
