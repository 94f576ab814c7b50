"""Global settings, read at call time.

Change them by assignment, e.g. ``bandung_mapping.settings.cache_folder = "..."``;
tests override them with ``monkeypatch.setattr``.

Attributes
----------
cache_folder : str
    Where network responses (Overpass, STAC) are cached. Default ``"./cache"``
    or ``$BANDUNG_MAPPING_CACHE``.
use_cache : bool
    Read and write the on-disk cache. Default True.
offline : bool
    Never touch the network; only cached responses may be used. Default False
    (``$BANDUNG_MAPPING_OFFLINE=1`` sets it).
requests_timeout : float
    Seconds before an HTTP request gives up. Default 30.
http_user_agent : str
    User-Agent sent with every request.
stac_url : str
    STAC API used by :func:`bandung_mapping.stac.find_sentinel2` (Earth Search).
progress : bool or None
    Show progress bars; None (default) shows them only on a terminal.
min_valid_pixel_pct : float
    A zone with a smaller share of valid (cloud-free) pixels gets NaN raster
    indicators and a flag. Default 50.
"""

from __future__ import annotations

import os

cache_folder: str = os.environ.get("BANDUNG_MAPPING_CACHE", "./cache")
use_cache: bool = True
offline: bool = os.environ.get("BANDUNG_MAPPING_OFFLINE", "") not in ("", "0", "false")
requests_timeout: float = 30.0
http_user_agent: str = "bandung-mapping (https://github.com/bandung-mapping/bandung-mapping)"
stac_url: str = "https://earth-search.aws.element84.com/v1"
progress: bool | None = None
min_valid_pixel_pct: float = 50.0
