"""Build a :class:`StudyArea` from files, place names or the sample: the one entry point."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from ._log import get_logger
from ._validate import check_input_path
from .errors import CRSError, InputError, InputFileError
from .profiles import CityProfile, load_city, load_rth_rules
from .projection import check_coordinates, to_metric
from .study_area import RasterSources, StudyArea

__all__ = ["load_study_area", "file_sha256"]

log = get_logger(__name__)

PathLike = str | os.PathLike[str]


def file_sha256(path: PathLike) -> str:
    """SHA-256 of a file (a folder gets the hash of its sorted file names and sizes)."""
    p = Path(path)
    h = hashlib.sha256()
    if p.is_dir():
        for f in sorted(p.rglob("*")):
            if f.is_file():
                h.update(f"{f.relative_to(p)}:{f.stat().st_size}".encode())
        return h.hexdigest()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _empty_green() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"osmid": pd.Series(dtype=str), "rth_jenis": pd.Series(dtype=str), "is_public": pd.Series(dtype=bool),
         "area_m2": pd.Series(dtype=float)},
        geometry=gpd.GeoSeries([], crs="EPSG:4326"),
    )


def _check_year(year: object) -> int | None:
    """``year`` as an int (a whole number or its text, 1800-2200), else :class:`InputError`."""
    if year is None:
        return None
    try:
        value = int(str(year).strip()) if not isinstance(year, bool) else None
    except ValueError:
        value = None
    if value is None or not 1800 <= value <= 2200:
        raise InputError(f"year must be a year such as 2022, got {year!r}")
    return value


def _check_date(date: str | None) -> str | None:
    """``date`` as ISO ``YYYY-MM-DD`` text (a real calendar date), else :class:`InputError`."""
    if date is None:
        return None
    import datetime as _dt

    try:
        return _dt.date.fromisoformat(str(date).strip()).isoformat()
    except ValueError:
        raise InputError(f"raster_date must be a date as YYYY-MM-DD (e.g. 2024-07-15), got {date!r}") from None


def _read_vector(path: PathLike, *, what: str) -> gpd.GeoDataFrame:
    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several error types for unreadable files
        raise InputFileError(f"cannot read {what} {path}: {exc}; expected a GeoJSON, GeoPackage or Shapefile") from exc
    if gdf.crs is None:
        raise CRSError(f"{what} {path} has no CRS; expected one (e.g. EPSG:4326)")
    check_coordinates(gdf, name=f"{what} {Path(path).name}")
    if gdf.geometry.has_z.any():
        gdf = gdf.set_geometry(shapely.force_2d(gdf.geometry.values), crs=gdf.crs)
    return gdf


def _split_band(spec: PathLike | None) -> str | None:
    if spec is None:
        return None
    s = str(spec)
    path = s.rsplit(":", 1)[0] if (":" in s and s.rsplit(":", 1)[1].isdigit()) else s
    check_input_path(path, what="raster file")
    return s


def load_study_area(
    *,
    city: str | CityProfile = "bandung",
    boundaries: PathLike | None = None,
    place: str | None = None,
    name_columns: dict[str, str] | None = None,
    code_columns: dict[str, str] | None = None,
    layer: str | None = None,
    osm: Sequence[PathLike] | PathLike | None = None,
    parks: PathLike | None = None,
    population: PathLike | None = None,
    year: int | None = None,
    period: int | str | None = None,
    rth_rules: PathLike | None = None,
    network: PathLike | None = None,
    candidates: PathLike | None = None,
    red: PathLike | None = None,
    nir: PathLike | None = None,
    scl: PathLike | None = None,
    landcover: PathLike | None = None,
    landcover_kind: str = "worldcover",
    sentinel2: PathLike | None = None,
    sensor: str = "generic",
    boa_offset: float | None = None,
    raster_date: str | None = None,
    synthetic: bool = False,
) -> StudyArea:
    """Load every input of a study area and return an immutable :class:`StudyArea`.

    Parameters
    ----------
    city : str or CityProfile, default "bandung"
        Bundled city profile name or a path to a profile TOML.
    boundaries : path, optional
        Zone boundary file (GeoJSON, GeoPackage, Shapefile ...) of the lowest level.
    name_columns, code_columns : dict of level -> column, optional
        Name / code columns of the boundary file when auto-detection is not wanted.
    layer : str, optional
        Layer of a multi-layer boundary file (GeoPackage).
    place : str, optional
        Place name to fetch boundaries and OSM features online (osmnx, cached on disk).
    osm : path or list of paths, optional
        Local OSM files: ``.osm`` (plain, .gz, .bz2), ``.osm.pbf``, GeoJSON/GeoPackage exports.
    parks : path, optional
        A park list with coordinates and areas (e.g. the Korean urban-park standard CSV).
    population : path, optional
        Population table, joined to the lowest zones by code or by name. Zones whose ids the
        boundary file could only build from names take the official codes of the rows they
        matched (see :func:`bandung_mapping.population.adopt_codes`; noted in ``notes``).
    year, period : optional
        Which year (and semester / month) of the population table to use; default the latest.
    rth_rules : path, optional
        RTH tag-rules file; default the city profile's bundled rules.
    network : path, optional
        A walk network (``.graphml``); default: built from the OSM ``highway`` ways if any.
    candidates : path, optional
        Land that could become a park: a land-cover polygon layer with a ``REMARK`` class
        column (e.g. RBI *tutupan lahan*; vacant, shrub and dry-field classes are kept) or
        user parcels (every polygon kept). OSM ``landuse=brownfield/greenfield/vacant/grass``
        polygons are always candidates.
    red, nir, scl, landcover, sentinel2 : path, optional
        Raster inputs (``PATH`` or ``PATH:BAND``), a Sentinel-2 ``.SAFE`` or band folder.
    sensor : {"generic", "sentinel2", "landsat"}
        Band conventions (scale and offset) of ``red``/``nir``.
    synthetic : bool
        Mark the study area as synthetic (the built-in sample does).

    Returns
    -------
    StudyArea

    Examples
    --------
    >>> from bandung_mapping import sample
    >>> files = sample.write_sample(sample.default_sample_folder(), overwrite=False)
    >>> s = load_study_area(city="sample", boundaries=files["boundaries"], osm=[files["osm"]],
    ...                     population=files["population"], synthetic=True)
    >>> sorted(s.zones)
    ['kecamatan', 'kelurahan', 'kota']
    """
    from . import boundaries as _boundaries
    from . import classify as _classify
    from . import osm as _osm
    from . import population as _population

    year = _check_year(year)
    raster_date = _check_date(raster_date)
    profile = load_city(city)
    inputs: list[dict[str, str]] = []
    excluded: dict[str, int] = {}
    notes: list[str] = []

    def record(role: str, path: PathLike) -> None:
        p = Path(str(path).rsplit(":", 1)[0]) if not Path(str(path)).exists() else Path(path)
        inputs.append({"role": role, "path": str(path), "sha256": file_sha256(p) if p.exists() else ""})

    # ---- zones
    if boundaries is not None:
        check_input_path(boundaries, what="boundary file (--boundaries)")
        zones = _boundaries.zones_from_file(boundaries, city=profile, name_columns=name_columns,
                                            code_columns=code_columns, layer=layer)
        record("boundaries", boundaries)
        if place is not None:
            used = "the OSM features of the place" if not osm else "nothing (the --osm files give the features)"
            note = (f"both boundaries and place were given: zones come from {Path(boundaries).name}; "
                    f"place {place!r} gives {used}")
            log.warning(note)
            notes.append(note)
    elif place is not None:
        zones = _boundaries.zones_from_place(place, city=profile)
        inputs.append({"role": "boundaries", "path": f"osm:{place}", "sha256": ""})
    else:
        raise InputError("no study area: give boundaries= (a boundary file) or place= (a place name)")
    zones = dict(zones)
    lowest = profile.levels[0]
    if lowest not in zones:
        raise InputError(f"boundaries gave levels {sorted(zones)}; expected the lowest level {lowest!r}")

    # ---- population
    if population is not None:
        check_input_path(population, what="population table (--population)")
        table = _population.read_population(population, city=profile, year=year, period=period)
        zones, join_report = _population.join_population(zones, table, city=profile)
        zones = dict(zones)
        record("population", population)
        unmatched = join_report["unmatched_zones"]
        if unmatched:
            excluded["population_unmatched_zones"] = len(unmatched)
        rows_left = join_report.get("unmatched_rows", [])
        if rows_left:
            excluded["population_unmatched_rows"] = len(rows_left)
            excluded["population_unmatched_people"] = int(
                round(sum(float(r.get("population") or 0.0) for r in rows_left))
            )
        if table.attrs.get("duplicate_rows_dropped"):
            excluded["population_duplicate_rows"] = int(table.attrs["duplicate_rows_dropped"])
        notes += [str(n) for n in join_report["notes"]]
        # zones named but not coded in the boundary file take the table's official codes
        zones, code_notes = _population.adopt_codes(zones, join_report, city=profile)
        zones = dict(zones)
        renamed = zones[profile.levels[0]].attrs.get("renamed_ids") or {}
        for m in join_report.get("zone_matches", []):
            m["zone_id"] = renamed.get(m["zone_id"], m["zone_id"])
        notes += code_notes

    # zones_from_file measured its level already (geometry is unchanged by the population join)
    qa = {
        "boundaries": zones[lowest].attrs.get("qa")
        or _boundaries.boundary_qa(zones[lowest], metric_crs=profile.metric_crs)
    }
    if qa["boundaries"].get("zones_far_from_the_rest"):
        excluded["zones_far_from_the_rest"] = int(qa["boundaries"]["zones_far_from_the_rest"])
    if qa["boundaries"].get("zones_of_another_city"):
        excluded["zones_of_another_city"] = int(qa["boundaries"]["zones_of_another_city"])
    if population is not None:
        qa["population"] = {
            "unmatched_rows": len(rows_left),
            "unmatched_people": excluded.get("population_unmatched_people", 0),
            "unmatched_row_names": [str(r.get("name", "")) for r in rows_left[:5]],
            "unmatched_zone_names": [str(z.get("zone_name", "")) for z in join_report["unmatched_zones"][:5]],
            "disagreements": int(join_report.get("disagreements", 0)),
            "disagreement_names": [
                f"{m['zone_name']} = {m['table_name']}" + (f" ({m['table_code']})" if m.get("table_code") else "")
                for m in join_report.get("zone_matches", []) if m["disagreement"] not in ("", "unmatched")
            ][:5],
            "zone_matches": join_report.get("zone_matches", []),
        }
    study_polygon = zones[profile.levels[-1]].union_all()

    # ---- OSM features -> green spaces, buildings, walk lines
    osm_paths = [osm] if isinstance(osm, (str, os.PathLike)) else list(osm or [])
    features = None
    if osm_paths:
        for p in osm_paths:
            check_input_path(p, what="OSM file (--osm)")
            record("osm", p)
        # read everything, so features outside the study area are counted by the classifier
        features = _osm.features_from_files(osm_paths, polygon=None)
    elif place is not None:
        features = _osm.features_from_place(place)
    rules = load_rth_rules(rth_rules if rth_rules is not None else profile.rth_rules)
    if rth_rules is not None:
        record("rth_rules", rth_rules)

    green_spaces, green_points, buildings, lines = _empty_green(), _empty_green(), None, None
    if features is not None and len(features):
        metric_crs = profile.metric_crs
        green_spaces, green_points, report = _classify.classify_green_spaces(
            features, rules=rules, study_area=study_polygon, metric_crs=metric_crs
        )
        for k, v in report["excluded"].items():
            excluded[f"green_{k}"] = int(v)
        if "building" in features.columns:
            buildings = _classify.classify_buildings(features, metric_crs=metric_crs, rules=rules)
            if len(buildings):
                # the polygon prepared and first: GEOS indexes its outline once for all the points
                shapely.prepare(study_polygon)
                inside = shapely.contains(study_polygon, buildings.geometry.representative_point().values)
                excluded["buildings_outside_study_area"] = int((~inside).sum())
                buildings = buildings[inside].copy()
        if "highway" in features.columns:
            lines = features[features["highway"].notna() & features.geom_type.isin(["LineString", "MultiLineString"])]

    # ---- land that could become a park
    from . import siting as _siting

    cand_parts = []
    if features is not None and len(features) and "landuse" in features.columns:
        cand_parts.append(_siting.candidates_from_osm(features, profile.metric_crs))
    if candidates is not None:
        check_input_path(candidates, what="candidate land file (--candidates)")
        cgdf = _read_vector(candidates, what="candidate land file")
        if "REMARK" in cgdf.columns:
            cand_parts.append(_siting.candidates_from_landcover(cgdf, profile.metric_crs))
        else:
            cg = to_metric(cgdf, profile.metric_crs, name="candidate parcels")
            cand_parts.append(gpd.GeoDataFrame({"source": "parcels"}, geometry=cg.geometry.values, crs=cg.crs))
        record("candidates", candidates)
    cand_gdf = None
    if cand_parts:
        cand_gdf = pd.concat(cand_parts, ignore_index=True).to_crs("EPSG:4326")

    # ---- parks given as points with an area
    if parks is not None:
        from . import parks as _parks

        check_input_path(parks, what="park list (--parks)")
        pts = _parks.parks_from_csv(parks, city=profile)
        record("parks", parks)
        green_points = pts if len(green_points) == 0 else pd.concat([green_points, pts], ignore_index=True)
        notes.append("parks given as points: their official area counts in the zone that contains the point; "
                      "for access each is treated as a disc of equal area around the point")

    # ---- walk network
    graph: Any = None
    if network is not None:
        from . import network as _network

        check_input_path(network, what="walk network (--network)")
        graph = _network.walk_network_from_file(network)
        record("network", network)
    elif lines is not None and len(lines):
        from . import network as _network

        graph = _network.walk_network_from_lines(lines)

    # ---- rasters
    if sentinel2 is not None:
        from . import raster as _raster

        check_input_path(sentinel2, what="Sentinel-2 folder (--sentinel2)")
        found = _raster.find_sentinel2_bands(sentinel2)
        red = red or found.get("red")
        nir = nir or found.get("nir")
        scl = scl or found.get("scl")
        if boa_offset is None and found.get("boa_offset") is not None:
            boa_offset = float(found["boa_offset"])
        sensor = "sentinel2"
        record("sentinel2", sentinel2)
    rasters = RasterSources(
        red=_split_band(red), nir=_split_band(nir), scl=_split_band(scl), landcover=_split_band(landcover),
        landcover_kind=landcover_kind, sensor=sensor, boa_offset=boa_offset, date=raster_date,
    )
    if (rasters.red is None) != (rasters.nir is None):
        raise InputError("NDVI needs both red and nir; got only one of them")
    for role, p in (("red", red), ("nir", nir), ("scl", scl), ("landcover", landcover)):
        if p is not None and sentinel2 is None:
            record(role, p)

    return StudyArea(
        city=profile,
        zones={lv: zones[lv] for lv in profile.levels},
        green_spaces=green_spaces,
        green_points=green_points,
        buildings=buildings,
        network=graph,
        rasters=rasters,
        candidates=cand_gdf,
        excluded=excluded,
        inputs=inputs,
        synthetic=synthetic,
        notes=notes,
        rth_rules_source=str(rules.get("_source", "")),
        park_kinds=tuple(_classify.park_kinds(rules)),
        qa=qa,
    )
