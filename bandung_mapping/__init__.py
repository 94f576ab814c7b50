"""bandung-mapping: buildings and green open space (RTH) for Kota Bandung and other cities.

A functional API: GeoDataFrame in, new GeoDataFrame/DataFrame out. Start with
:func:`load_study_area` (or :func:`sample.load_sample` for the built-in synthetic city),
then :func:`measure` or :func:`run_report`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from . import (
    _log,  # noqa: F401  (installs the NullHandler)
    errors,
    settings,
)
from .indicators import aggregate_levels, dissolved_area_m2, zone_indicators
from .loading import load_study_area
from .pipeline import measure, run_report
from .profiles import load_city, load_rth_rules, load_standard
from .study_area import RasterSources, StudyArea

try:
    __version__ = version("bandung-mapping")
except PackageNotFoundError:  # pragma: no cover
    __version__ = "0.0.0"

__all__ = [
    "__version__",
    "errors",
    "settings",
    "StudyArea",
    "RasterSources",
    "load_study_area",
    "measure",
    "run_report",
    "zone_indicators",
    "aggregate_levels",
    "dissolved_area_m2",
    "load_city",
    "load_rth_rules",
    "load_standard",
]
