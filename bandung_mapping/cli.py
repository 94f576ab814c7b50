"""Command line: a thin layer over the public API.

``bandung-mapping report``  measure a study area and write tables, map, report, run.json
``bandung-mapping ndvi``    write an NDVI Cloud-Optimized GeoTIFF from red and NIR bands
``bandung-mapping compare`` put two finished reports side by side
``bandung-mapping batch``   run many study areas / dates from a TOML config on Dask
``bandung-mapping sample``  write the synthetic sample's files into a folder
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from ._log import enable_console_logging
from .errors import BandungMappingError, OutputError

if TYPE_CHECKING:
    from .pipeline import ReportResult

__all__ = ["main", "build_parser"]


def _add_report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument("--city", default=None, help="city profile: bundled name (bandung, daegu) or a .toml path")
    src = p.add_argument_group("vector inputs (default: the built-in synthetic sample)")
    src.add_argument("--boundaries", help="boundary file of the lowest zone level (GeoJSON, GPKG, SHP ...)")
    src.add_argument("--name-column", action="append", default=[], metavar="LEVEL=COLUMN",
                     help="name column of a level in the boundary file (default: auto-detected); repeatable")
    src.add_argument("--code-column", action="append", default=[], metavar="LEVEL=COLUMN",
                     help="code column of a level in the boundary file (default: auto-detected); repeatable")
    src.add_argument("--layer", help="layer of a multi-layer boundary file")
    src.add_argument("--place", help="place name to fetch boundaries and OSM data online (cached)")
    src.add_argument("--osm", action="append", default=[], metavar="FILE",
                     help="local OSM file: .osm(.gz/.bz2), .osm.pbf, or GeoJSON/GPKG export; repeatable")
    src.add_argument("--parks", help="park list with coordinates and areas (CSV; columns from the city profile)")
    src.add_argument("--population", help="population table (CSV)")
    src.add_argument("--year", type=int, help="population year (default: latest)")
    src.add_argument("--semester", "--period", dest="period", help="population semester/month (default: latest)")
    src.add_argument("--rth-rules", help="RTH tag-rules TOML (default: the city profile's)")
    src.add_argument("--candidates", help="land that could become a park: land-cover polygons (REMARK classes) "
                     "or parcels")
    src.add_argument("--network", help="walk network (.graphml); default built from OSM highways")
    ras = p.add_argument_group("raster inputs")
    ras.add_argument("--red", help="red band PATH[:BAND]")
    ras.add_argument("--nir", help="near-infrared band PATH[:BAND]")
    ras.add_argument("--sensor", choices=["generic", "sentinel2", "landsat"], default=None,
                     help="band conventions of --red/--nir (default generic; sentinel2 with --sentinel2)")
    ras.add_argument("--boa-offset", type=float, help="Sentinel-2 BOA_ADD_OFFSET when the metadata lacks it")
    ras.add_argument("--scl", help="Sentinel-2 scene classification (SCL) raster: cloud mask / green source")
    ras.add_argument("--landcover", help="land-cover raster used as a green source")
    ras.add_argument("--landcover-kind", default="worldcover", help="worldcover (default) or a class-map TOML")
    ras.add_argument("--sentinel2", help="Sentinel-2 L2A .SAFE folder or a folder of *_B04_10m/*_B08_10m/*_SCL_20m")
    ras.add_argument("--stac", metavar="START/END", help="search Sentinel-2 on a STAC API for this date range")
    ras.add_argument("--max-cloud", type=float, default=20.0, help="maximum scene cloud %% for --stac")
    ras.add_argument("--raster-date", metavar="YYYY-MM-DD", help="acquisition date of the rasters (for the record)")
    out = p.add_argument_group("outputs")
    out.add_argument("--lang", default=None, help="label language: id (default for Bandung), en, ko")
    out.add_argument("--self-contained", dest="self_contained", action="store_true", default=True,
                     help="inline Leaflet and all scripts in map.html (default)")
    out.add_argument("--cdn", dest="self_contained", action="store_false",
                     help="load Leaflet from CDNs instead (smaller map.html, needs internet)")
    out.add_argument("--pdf", action="store_true", help="also write report.pdf (needs WeasyPrint installed)")
    out.add_argument("--per-kecamatan", action="store_true",
                     help="also write one report per middle-level zone (kecamatan / gu) and an index page")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``bandung-mapping``."""
    parser = argparse.ArgumentParser(
        prog="bandung-mapping",
        description="Map buildings and green open space (RTH) and compute green-space indicators.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    sub = parser.add_subparsers(dest="command", required=True)

    rep = sub.add_parser("report", help="measure a study area and write tables, map.html, report.html, run.json")
    _add_report_args(rep)

    nd = sub.add_parser("ndvi", help="write NDVI as a Cloud-Optimized GeoTIFF")
    nd.add_argument("--red", required=True, help="red band PATH[:BAND]")
    nd.add_argument("--nir", required=True, help="NIR band PATH[:BAND]")
    nd.add_argument("--sensor", choices=["generic", "sentinel2", "landsat"], default=None,
                    help="default: read from the band's metadata (Sentinel-2 L2A, Landsat), else generic")
    nd.add_argument("--scale", type=float, help="generic sensor: reflectance = DN * scale + offset")
    nd.add_argument("--offset", type=float, help="generic sensor: additive offset")
    nd.add_argument("--nodata", type=float, help="input nodata value")
    nd.add_argument("--boa-offset", type=float, help="Sentinel-2 BOA_ADD_OFFSET when the metadata lacks it")
    nd.add_argument("--mask", help="cloud mask raster (Sentinel-2 SCL or Landsat QA_PIXEL)")
    nd.add_argument("--mask-kind", choices=["scl", "qa_pixel", "binary"], help="kind of --mask (default by sensor)")
    nd.add_argument("--out", required=True, help="output GeoTIFF")

    cmp_ = sub.add_parser("compare", help="compare two finished report folders side by side")
    cmp_.add_argument("run_a")
    cmp_.add_argument("run_b")
    cmp_.add_argument("--out", required=True)
    cmp_.add_argument("--lang", default="en", help="en (default), id, ko")

    bat = sub.add_parser("batch", help="run many study areas / dates from a TOML config (Dask)")
    bat.add_argument("config", help="batch TOML file")
    bat.add_argument("--out", help="output root (default: the config's)")
    bat.add_argument("--scheduler", help="address of an existing Dask scheduler (default: a LocalCluster)")
    bat.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    bat.add_argument("--serial", action="store_true", help="run without Dask, one task after another")

    sm = sub.add_parser("sample", help="write the synthetic sample's input files into a folder")
    sm.add_argument("--out", required=True)
    sm.add_argument("--seed", type=int, default=None, help="seed of the random parts (default: the built-in one)")
    return parser


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        level, sep, col = item.partition("=")
        if not sep or not level or not col:
            raise SystemExit(f"error: {flag} expects LEVEL=COLUMN, got {item!r}")
        out[level] = col
    return out


def _cmd_report(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from .loading import load_study_area
    from .pipeline import run_report
    from .sample import load_sample

    kwargs = dict(
        name_columns=_pairs(args.name_column, "--name-column") or None,
        code_columns=_pairs(args.code_column, "--code-column") or None, layer=args.layer,
        place=args.place, osm=args.osm or None, parks=args.parks, population=args.population, year=args.year,
        period=args.period, rth_rules=args.rth_rules, network=args.network,
        candidates=args.candidates, red=args.red, nir=args.nir,
        scl=args.scl, landcover=args.landcover, landcover_kind=args.landcover_kind, sentinel2=args.sentinel2,
        boa_offset=args.boa_offset, raster_date=args.raster_date,
    )
    if args.boundaries is None and args.place is None:
        if any(v for k, v in kwargs.items() if k not in ("landcover_kind", "layer")):
            raise SystemExit("error: inputs were given without --boundaries or --place; give one of them "
                             "(or none at all to run the built-in synthetic sample)")
        study = load_sample(city=args.city or "sample")
        if not args.quiet:
            print("No inputs given: running the built-in SYNTHETIC sample city (not real data).", file=sys.stderr)
    else:
        sensor = args.sensor or _detected_sensor(args.red, quiet=args.quiet)
        study = load_study_area(city=args.city or "bandung", boundaries=args.boundaries, sensor=sensor, **kwargs)
        if args.stac:
            from . import stac
            from .errors import EmptyAreaError, InputError

            start, sep, end = args.stac.partition("/")
            if not sep:
                raise InputError(f"--stac expects START/END dates like 2024-06-01/2024-09-30, got {args.stac!r}")
            area = study.zones[study.lowest_level]
            items = stac.find_sentinel2(area, start, end, max_cloud_pct=args.max_cloud)
            if not items:
                raise EmptyAreaError(f"no Sentinel-2 scene with <= {args.max_cloud} % cloud in {args.stac}")
            bands = stac.read_stac_bands(items[0], area, boa_offset=args.boa_offset)
            study = study.replace(rasters=bands.sources())
    per_level = study.city.levels[1] if args.per_kecamatan and len(study.city.levels) > 2 else None
    result = run_report(
        study, args.out, lang=args.lang, self_contained=args.self_contained, per_zone_level=per_level,
        progress=False if args.quiet else None, command=["bandung-mapping", *argv], pdf=args.pdf,
    )
    if not args.quiet:
        _summary(result, args.lang or study.city.default_language)
    return 0


def _summary(result: ReportResult, lang: str) -> None:
    from . import i18n
    from .report import quality_findings

    info = result.run_info
    top = info["city"]["levels"][-1]
    t = result.measures.tables[top].iloc[0]
    lines = [f"Wrote {len(result.files)} files to {result.out_dir}:"]
    lines += [f"  {p.relative_to(result.out_dir)}" for p in sorted(result.files)]
    pop = t.get("population")
    lines.append(
        f"{info['city']['name']}: area {t['area_ha']:,.1f} ha, population "
        f"{'n/a' if pop != pop else f'{pop:,.0f}'}, RTH {t['rth_area_ha']:,.2f} ha ({t['rth_pct']:.2f} %)"
    )
    findings = quality_findings(info, lang)
    if findings:
        lines.append(i18n.text("data_quality", lang) + ":")
        lines += [f"  - {f}" for f in findings]
    if info.get("synthetic"):
        lines.append("NOTE: " + info["notice"])
    print("\n".join(lines))


def _detected_sensor(red: str | None, *, quiet: bool) -> str:
    """The sensor of ``red`` read from its metadata when ``--sensor`` is not given (said on screen)."""
    if red is None:
        return "generic"
    from .raster import detect_sensor

    sensor = detect_sensor(red)
    if sensor != "generic" and not quiet:
        print(f"--sensor not given: {Path(red).name} is recognised as {sensor} from its metadata", file=sys.stderr)
    return sensor


def _cmd_ndvi(args: argparse.Namespace) -> int:
    from .outputs import check_output_dir
    from .raster import write_ndvi

    out = Path(args.out)
    if out.is_dir():
        raise OutputError(f"--out {out} is a folder; expected the path of the GeoTIFF to write")
    check_output_dir(out.parent, create=False)
    sensor = args.sensor or _detected_sensor(args.red, quiet=args.quiet)
    path = write_ndvi(args.red, args.nir, args.out, sensor=sensor, scale=args.scale, offset=args.offset,
                      nodata=args.nodata, boa_offset=args.boa_offset, mask=args.mask,
                      mask_kind=args.mask_kind)
    if not args.quiet:
        print(f"Wrote NDVI to {path}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare_runs
    from .outputs import check_output_dir

    check_output_dir(args.out)

    path = compare_runs(args.run_a, args.run_b, args.out, lang=args.lang)
    if not args.quiet:
        print(f"Wrote the comparison to {path}")
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from .batch import run_batch
    from .outputs import check_output_dir

    if args.out:
        check_output_dir(args.out)

    result = run_batch(args.config, out=args.out, scheduler=args.scheduler, workers=args.workers,
                       serial=args.serial)
    if not args.quiet:
        print(result.summary())
    return 0 if result.ok else 1


def _cmd_sample(args: argparse.Namespace) -> int:
    from .outputs import check_output_dir
    from .sample import SEED, write_sample

    check_output_dir(args.out)

    files = write_sample(args.out, seed=SEED if args.seed is None else args.seed)
    if not args.quiet:
        print("Wrote the SYNTHETIC sample city to " + str(Path(args.out)) + ":")
        for p in files.values():
            print("  " + p.name)
    return 0


def _sigterm_as_interrupt() -> object:
    """Make SIGTERM raise KeyboardInterrupt (like Ctrl-C) so staged outputs are cleaned up.

    Returns the previous handler, or None when it cannot be installed (not the main thread).
    """

    def handler(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not stop the cleanup
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not the main thread / no SIGTERM
        return None


def _run(args: argparse.Namespace, argv: Sequence[str]) -> int | None:
    if args.command == "report":
        return _cmd_report(args, argv)
    if args.command == "ndvi":
        return _cmd_ndvi(args)
    if args.command == "compare":
        return _cmd_compare(args)
    if args.command == "batch":
        return _cmd_batch(args)
    if args.command == "sample":
        return _cmd_sample(args)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bandung-mapping`` command.

    Exit codes: 0 done, 1 some batch tasks failed, 2 an error (message on stderr, no
    traceback), 130 interrupted by Ctrl-C or SIGTERM (staged outputs removed).
    """
    from .outputs import output_error

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * args.verbose
    enable_console_logging(max(level, logging.DEBUG))
    previous = _sigterm_as_interrupt()
    try:
        code = _run(args, argv)
    except BandungMappingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # disk full, no permission ... outside the typed writers
        import errno

        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            print(f"error: {output_error(exc)}", file=sys.stderr)
        else:
            where = f": {exc.filename}" if exc.filename else ""
            print(f"error: {exc.strerror or exc}{where}".replace("\n", " "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)  # type: ignore[arg-type]
    if code is None:
        parser.error(f"unknown command {args.command}")
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
