"""Exceptions and warnings raised by bandung-mapping.

Every error derives from :class:`BandungMappingError`. Specific errors also
inherit the matching built-in exception, so ``except ValueError`` keeps working
(the pattern of rasterio's ``RasterioIOError(RasterioError, OSError)``).
"""

from __future__ import annotations

__all__ = [
    "BandungMappingError",
    "InputError",
    "InputFileError",
    "CRSError",
    "GeometryError",
    "EmptyAreaError",
    "RasterError",
    "RasterCoverageError",
    "ProfileError",
    "JoinError",
    "NetworkDownloadError",
    "OutputError",
    "BandungMappingWarning",
    "DataQualityWarning",
]


class BandungMappingError(Exception):
    """Root of every error raised by bandung-mapping."""


class InputError(BandungMappingError, ValueError):
    """An argument or an input dataset is not what was expected."""


class InputFileError(BandungMappingError, OSError):
    """An input file is missing, unreadable or corrupt."""


class CRSError(InputError):
    """A coordinate reference system is missing, geographic where metres are needed, or mismatched."""


class GeometryError(InputError):
    """Geometries are of the wrong type or cannot be repaired."""


class EmptyAreaError(InputError):
    """The study area, a zone or a selection holds nothing to measure."""


class RasterError(BandungMappingError, ValueError):
    """A raster cannot be used as given (bands, dtype, sensor convention)."""


class RasterCoverageError(RasterError):
    """A raster does not overlap the study area (often a CRS mix-up)."""


class ProfileError(InputError):
    """A city, rules or standards profile is invalid (unknown key, wrong type)."""


class JoinError(InputError):
    """A table could not be joined to the zones (codes or names do not match)."""


class NetworkDownloadError(BandungMappingError, ConnectionError):
    """A download failed and no cached copy exists."""


class OutputError(BandungMappingError, OSError):
    """An output cannot be written (folder missing or not writable)."""


class BandungMappingWarning(UserWarning):
    """Root of every warning issued by bandung-mapping."""


class DataQualityWarning(BandungMappingWarning):
    """Input data were repaired, dropped or are of doubtful quality."""
