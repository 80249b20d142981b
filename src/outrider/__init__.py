"""Outrider: a Nomad-compatible client agent built for log and file streaming."""

__version__ = "0.1.0"

__all__ = ["__version__"]
