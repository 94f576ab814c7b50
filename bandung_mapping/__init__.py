"""bandung-mapping: buildings and green open space (RTH) for Kota Bandung and other cities."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from . import _log  # noqa: F401  (installs the NullHandler)
from . import errors, settings

try:
    __version__ = version("bandung-mapping")
except PackageNotFoundError:  # pragma: no cover
    __version__ = "0.0.0"

__all__ = ["__version__", "errors", "settings"]
