"""Plumbing around osmnx's Overpass / Nominatim calls: settings, cache and offline mode.

Every online OSM request of the package goes through :func:`call_osmnx`, which

* points osmnx's on-disk cache at :data:`bandung_mapping.settings.cache_folder`
  (a second identical request is answered from that cache without any network call),
* turns off the Overpass rate-limit probe and the DNS-over-HTTPS look-up, so that a
  machine without network fails within seconds instead of a minute,
* in offline mode (:data:`bandung_mapping.settings.offline`) never opens a
  connection: requests are routed to a closed local port, so only cached answers work,
* turns every network failure into :class:`~bandung_mapping.errors.NetworkDownloadError`
  naming the cache folder and the offline alternatives.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from . import settings
from ._log import get_logger
from .errors import EmptyAreaError, NetworkDownloadError

log = get_logger(__name__)
T = TypeVar("T")

# A closed port on the loopback interface: connecting fails at once, nothing leaves the machine.
_NOWHERE = "http://127.0.0.1:9"


@contextlib.contextmanager
def osmnx_settings() -> Iterator[None]:
    """Apply the package settings to osmnx for the duration of a call, then restore them."""
    import osmnx as ox
    from osmnx import _http

    saved = {
        name: getattr(ox.settings, name)
        for name in (
            "cache_folder",
            "use_cache",
            "overpass_rate_limit",
            "doh_url_template",
            "requests_timeout",
            "http_user_agent",
            "requests_kwargs",
            "log_console",
        )
    }
    saved_config_dns = _http._config_dns
    try:
        ox.settings.cache_folder = str(Path(settings.cache_folder))
        ox.settings.use_cache = bool(settings.use_cache)
        ox.settings.overpass_rate_limit = False
        ox.settings.doh_url_template = None
        ox.settings.requests_timeout = float(settings.requests_timeout)
        ox.settings.http_user_agent = settings.http_user_agent
        ox.settings.log_console = False
        if settings.offline:
            ox.settings.requests_kwargs = {"proxies": {"http": _NOWHERE, "https": _NOWHERE}}
            _http._config_dns = lambda url: None  # no DNS look-up either
        yield
    finally:
        for name, value in saved.items():
            setattr(ox.settings, name, value)
        _http._config_dns = saved_config_dns


def offline_hint(what: str) -> str:
    """Return the sentence that tells a user how to work without network."""
    return (
        f"{what}. No cached response was found in the cache folder {str(Path(settings.cache_folder))!r}. "
        "Work offline by giving the data as files instead: --osm FILE (.osm, .osm.pbf, GeoJSON or "
        "GeoPackage export) for features, --boundaries FILE for zones; or run once with network "
        "so the response is cached."
    )


def call_osmnx(fn: Callable[..., T], *args: Any, what: str, **kwargs: Any) -> T:
    """Call an osmnx download function with the package settings and typed errors."""
    import requests
    from osmnx._errors import InsufficientResponseError

    with osmnx_settings():
        try:
            return fn(*args, **kwargs)
        except InsufficientResponseError as exc:
            raise EmptyAreaError(f"{what}: OpenStreetMap returned nothing ({exc})") from exc
        except (requests.exceptions.RequestException, ConnectionError, OSError) as exc:
            mode = "offline mode is on (settings.offline)" if settings.offline else "the download failed"
            raise NetworkDownloadError(offline_hint(f"{what}: {mode} ({type(exc).__name__})")) from exc
