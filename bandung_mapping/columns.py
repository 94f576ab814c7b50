"""Definitions of the output columns: meaning, unit and source (the ``definitions`` sheet)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

__all__ = ["COLUMNS", "column_definitions"]

# name: (unit, English definition, Indonesian definition, source)
COLUMNS: dict[str, tuple[str, str, str, str]] = {
    "zone_id": ("", "Zone code (official code where known)", "Kode wilayah (kode resmi bila ada)", "boundary file"),
    "zone_name": ("", "Zone name", "Nama wilayah", "boundary file"),
    "parent_id": ("", "Code of the zone one level up", "Kode wilayah satu tingkat di atas", "boundary file"),
    "area_ha": ("ha", "Zone area in the metric CRS; upper levels = sum of lower", "Luas wilayah", "boundaries"),
    "population": ("people", "Resident population", "Jumlah penduduk", "population table"),
    "population_match": ("", "How the zone's population row was found: code, name, name_only, fuzzy, leftover or "
                         "unmatched", "Cara baris penduduk dicocokkan", "population table"),
    "population_row_name": ("", "Name of the population row the zone took", "Nama pada baris tabel penduduk",
                            "population table"),
    "population_row_code": ("", "Code(s) of the population row the zone took", "Kode pada baris tabel penduduk",
                            "population table"),
    "population_disagreement": ("", "Zone and row disagree: name_differs, code_differs, name_and_code_differ; "
                                "empty when both agree", "Ketidaksesuaian nama/kode zona dan baris penduduk",
                                "population table"),
    "rth_area_ha": ("ha", "Green open space (RTH) area, overlaps dissolved, plus park points with an official area",
                    "Luas RTH (tumpang tindih dihitung sekali)", "OSM / park list, RTH rules"),
    "rth_public_ha": ("ha", "Public RTH area", "Luas RTH publik", "RTH rules"),
    "rth_private_ha": ("ha", "Private RTH area (land that is both counts as public)", "Luas RTH privat", "RTH rules"),
    "park_area_ha": ("ha", "Public park area (kinds marked park in the rules; park-list points)",
                     "Luas taman publik", "RTH rules, park list"),
    "green_point_count": ("count", "Green features given as points inside the zone",
                          "Jumlah RTH berupa titik", "OSM / park list"),
    "green_point_no_area_count": ("count", "Green points without an area (e.g. a park mapped as an OSM node); "
                                  "not in area sums", "RTH titik tanpa luas (tidak dijumlahkan)", "OSM"),
    "building_count": ("count", "Buildings whose representative point lies in the zone", "Jumlah bangunan", "OSM"),
    "building_footprint_ha": ("ha", "Building footprint area", "Luas tapak bangunan", "OSM"),
    "building_floor_area_ha": ("ha", "Floor area = footprint x levels (levels default 1)", "Luas lantai bangunan",
                               "OSM"),
    "rth_pct": ("%", "RTH area / zone area x 100", "Persentase RTH terhadap luas wilayah", "UU 26/2007 (30 %)"),
    "rth_public_pct": ("%", "Public RTH area / zone area x 100", "Persentase RTH publik", "UU 26/2007 (20 %)"),
    "rth_private_pct": ("%", "Private RTH area / zone area x 100", "Persentase RTH privat", "UU 26/2007 (10 %)"),
    "rth_per_capita_m2": ("m2/person", "RTH area / population", "Luas RTH per penduduk", "Permen PU 05/PRT/M/2008"),
    "park_area_per_capita_m2": ("m2/person", "Public park area / population", "Luas taman publik per penduduk",
                                "Korean urban-park standard; Permen PU 05/PRT/M/2008"),
    "building_coverage_pct": ("%", "Building footprint / zone area x 100", "Koefisien tutupan bangunan", "OSM"),
    "population_density_per_km2": ("people/km2", "Population / area", "Kepadatan penduduk", "population table"),
    "ndvi_mean": ("", "Mean NDVI of valid pixels, coverage-weighted", "Rata-rata NDVI", "Sentinel-2 / Landsat"),
    "green_cover_pct": ("%", "Share of valid pixels that are green (NDVI threshold or land-cover class)",
                        "Persentase tutupan hijau citra satelit", "Sentinel-2 / Landsat / land cover"),
    "tree_cover_pct": ("%", "Share of valid pixels above the tree-canopy NDVI threshold",
                       "Persentase tutupan pohon (proksi)", "Sentinel-2 / Landsat"),
    "valid_pixel_pct": ("%", "Share of the zone covered by valid (cloud-free) pixels", "Persentase piksel valid",
                        "cloud mask"),
}

# unit of a column not listed above, from the unit at the end of its name
_UNIT_SUFFIXES = (("_pct", "%"), ("_m", "m"), ("_m2", "m2"), ("_ha", "ha"))


def column_definitions(columns: Iterable[str], *, standards: Iterable[dict[str, Any]] = (), lang: str = "id"
                       ) -> pd.DataFrame:
    """Table of ``column``, ``unit``, ``definition``, ``source`` for the given columns.

    Flags ``ok__<standard>__<check>`` and access columns are described from the standards.
    """
    std = {s.get("id"): s for s in standards}
    rows = []
    for c in columns:
        if c in COLUMNS:
            unit, en, idn, src = COLUMNS[c]
            rows.append((c, unit, idn if lang == "id" else en, src))
            continue
        if c.startswith("ok__"):
            parts = c.split("__")
            s = std.get(parts[1], {}) if len(parts) > 2 else {}
            name = s.get("name", {})
            label = name.get(lang, name.get("en", parts[1])) if isinstance(name, dict) else str(name)
            rows.append((c, "bool", f"{label}: {parts[-1]}", s.get("citation", "")))
            continue
        src = ""
        for s in std.values():
            for block in ("access", "per_capita", "checks"):
                for item in s.get(block, []) or []:
                    if c in (item.get("column"), item.get("indicator")):
                        src = s.get("citation", "")
        unit = next((u for suffix, u in _UNIT_SUFFIXES if c.endswith(suffix)), "")
        rows.append((c, unit, "", src))
    return pd.DataFrame(rows, columns=["column", "unit", "definition", "source"])
