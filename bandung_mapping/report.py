"""The HTML report: one self-contained page a planner can read, print or mail.

:func:`write_report` renders ``templates/report.html.j2`` (Jinja2, autoescaped, CSS
inline, charts embedded as PNG) with: headline figures of the city (or of the highest
level given), compliance with each standard's checks (from the ``ok__<standard>__<check>``
flag columns), the lowest-level zones ranked by green share and by green space per
person, methods, data sources with licences and dates, and caveats. A synthetic run
carries a banner that cannot be missed. :func:`write_batch_reports` writes one report
per zone of a middle level (e.g. per kecamatan) plus an index page.

Examples
--------
>>> from bandung_mapping import report, profiles                            # doctest: +SKIP
>>> report.write_report(tables, "report.html", city=profiles.load_city())   # doctest: +SKIP
"""

from __future__ import annotations

import base64
import io
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import i18n
from ._log import get_logger
from .errors import EmptyAreaError, InputError
from .outputs import atomic_write
from .profiles import CityProfile

log = get_logger(__name__)

__all__ = ["write_report", "write_batch_reports", "render_report", "HEADLINE_INDICATORS"]

TEMPLATE_DIR = Path(__file__).parent / "templates"

#: Columns shown as headline cards, in order (those present).
HEADLINE_INDICATORS: tuple[str, ...] = (
    "area_ha",
    "population",
    "rth_pct",
    "rth_public_pct",
    "rth_per_capita_m2",
    "green_cover_pct",
    "pop_within_300m_green_0_5ha_pct",
    "pop_within_400m_public_open_space_pct",
    "building_coverage_pct",
)
_RANKED = ("rth_pct", "rth_per_capita_m2")
_RASTER_COLUMNS = ("green_cover_pct", "tree_cover_pct", "ndvi_mean")
_ACCESS_COLUMNS = ("pop_within_300m_green_0_5ha_pct", "pop_within_400m_public_open_space_pct")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("bandung-mapping")
    except Exception:  # pragma: no cover - not installed
        return ""


def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


# --------------------------------------------------------------------------- input checks


def _check_tables(zone_tables: object, city: object) -> tuple[dict[str, pd.DataFrame], list[str]]:
    if not isinstance(city, CityProfile):
        raise InputError(f"city must be a CityProfile (profiles.load_city(...)), got {type(city).__name__}")
    if not isinstance(zone_tables, Mapping) or not zone_tables:
        raise InputError("zone_tables must be a non-empty dict of level -> DataFrame")
    unknown = [lv for lv in zone_tables if lv not in city.levels]
    if unknown:
        raise InputError(
            f"zone_tables has level(s) {unknown} not in city {city.id!r} levels {list(city.levels)}"
        )
    tables: dict[str, pd.DataFrame] = {}
    for level in city.levels:
        if level not in zone_tables:
            continue
        t = zone_tables[level]
        if not isinstance(t, pd.DataFrame):
            raise InputError(f"zone_tables[{level!r}] must be a DataFrame, got {type(t).__name__}")
        missing = [c for c in ("zone_id", "zone_name") if c not in t.columns]
        if missing:
            raise InputError(f"zone_tables[{level!r}] lacks column(s) {missing}; it has {list(t.columns)}")
        if len(t) == 0:
            raise EmptyAreaError(f"zone_tables[{level!r}] is empty; expected at least one zone")
        tables[level] = pd.DataFrame(t.drop(columns="geometry", errors="ignore")).reset_index(drop=True)
    return tables, list(tables)


def _any_column(tables: Mapping[str, pd.DataFrame], columns: Iterable[str]) -> bool:
    """True when any table has any of ``columns``."""
    return any(c in t for t in tables.values() for c in columns)


def _num(value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return math.nan
    return x


# --------------------------------------------------------------------------- content pieces


def _summary_row(table: pd.DataFrame) -> pd.Series:
    """Return the one row of a top-level table, or the sum of several zones (never a mean)."""
    if len(table) == 1:
        return table.iloc[0]

    def total(col: str) -> float:
        return (
            float(pd.to_numeric(table[col], errors="coerce").sum(min_count=1)) if col in table else math.nan
        )

    area, pop = total("area_ha"), total("population")
    row: dict[str, Any] = {"zone_id": "", "zone_name": "", "area_ha": area, "population": pop}
    for ha_col, pct_col in (
        ("rth_area_ha", "rth_pct"),
        ("rth_public_ha", "rth_public_pct"),
        ("building_footprint_ha", "building_coverage_pct"),
    ):
        if ha_col in table:
            row[ha_col] = total(ha_col)
            row[pct_col] = 100 * row[ha_col] / area if area > 0 else math.nan
    if "rth_area_ha" in table and pop > 0:
        row["rth_per_capita_m2"] = row["rth_area_ha"] * 1e4 / pop
    weights = {c: "area_ha" for c in _RASTER_COLUMNS} | {c: "population" for c in _ACCESS_COLUMNS}
    for col, wcol in weights.items():
        if col in table and wcol in table:
            v = pd.to_numeric(table[col], errors="coerce")
            w = pd.to_numeric(table[wcol], errors="coerce")
            ok = v.notna() & w.notna()
            row[col] = (
                float((v[ok] * w[ok]).sum() / w[ok].sum()) if ok.any() and w[ok].sum() > 0 else math.nan
            )
    return pd.Series(row)


_GREEN_CARDS = ("rth_pct", "rth_public_pct", "rth_per_capita_m2")


def _card_flag(col: str, row: pd.Series, lang: str, lowest: pd.DataFrame | None, from_osm: bool,
               distance: str = "") -> str:
    """The completeness note of a headline: its input is incomplete, or its completeness is unchecked."""
    def num(v: Any, d: int = 0) -> str:
        return i18n.format_number(float(v), lang, decimals=d)

    def zones(flag: str) -> str:
        if lowest is None or flag not in lowest:
            return ""
        f = lowest[flag]
        return i18n.text("flag_zones", lang, n=num((f == "incomplete").sum()), of=num(f.notna().sum()))

    if col in _GREEN_CARDS and not math.isnan(_num(row.get(col, np.nan))):
        flag = row.get("green_input_flag")
        if flag == "incomplete":
            return i18n.text("flag_green_incomplete", lang, pct=num(row["green_mapped_vs_satellite_pct"]),
                             sat=num(row["green_cover_pct"], 1)) + zones("green_input_flag")
        if flag is None or (isinstance(flag, float) and math.isnan(flag)):
            return i18n.text("flag_green_unchecked", lang) if from_osm else ""
    if col.startswith("pop_within") and row.get("network_input_flag") == "incomplete":
        return i18n.text("flag_network_incomplete", lang, pct=num(row["network_people_pct"])) + zones(
            "network_input_flag")
    if col.startswith("pop_within") and distance == "euclidean" and not math.isnan(_num(row.get(col, np.nan))):
        return i18n.text("flag_straight_lines", lang)
    if col == "building_coverage_pct" and not math.isnan(_num(row.get(col, np.nan))):
        n = num(row.get("building_count", 0))
        flag = row.get("building_input_flag")
        if flag == "incomplete":
            return i18n.text("flag_buildings_incomplete", lang, n=n, pct=num(row["building_mapped_vs_builtup_pct"]))
        if flag != "ok":
            return i18n.text("flag_buildings_unchecked", lang, n=n)
    return ""


def _cards(row: pd.Series, lang: str, lowest: pd.DataFrame | None = None, from_osm: bool = True,
           distance: str = "") -> list[dict[str, str]]:
    cards = []
    for col in HEADLINE_INDICATORS:
        if col not in row.index:
            continue
        value = _num(row[col])
        if col == "area_ha":
            cards.append(
                {
                    "key": col,
                    "label": i18n.indicator_label(col, lang),
                    "value": i18n.format_number(value / 100, lang, decimals=1),
                    "unit": " km²",
                    "flag": "",
                }
            )
            continue
        decimals = 0 if col == "population" else 1
        cards.append(
            {
                "key": col,
                "label": i18n.indicator_label(col, lang),
                "value": i18n.format_number(value, lang, decimals=decimals),
                "unit": " " + i18n.indicator_unit(col, lang) if not math.isnan(value) else "",
                "flag": _card_flag(col, row, lang, lowest, from_osm, distance),
            }
        )
    return cards


def _localized(value: Any, lang: str) -> str:
    if isinstance(value, Mapping):
        for code in (lang, "en", "id"):
            if code in value:
                return str(value[code])
        return str(next(iter(value.values()), ""))
    return "" if value is None else str(value)


def _standards_index(standards: Any) -> dict[str, Mapping[str, Any]]:
    if standards is None:
        return {}
    if isinstance(standards, Mapping):
        if "name" in standards and ("id" in standards or "checks" in standards):
            standards = [standards]
        else:
            return {str(k): v for k, v in standards.items() if isinstance(v, Mapping)}
    out = {}
    for s in standards:
        if not isinstance(s, Mapping):
            raise InputError(
                f"standards must be loaded standard dicts (profiles.load_standard), got {type(s).__name__}"
            )
        sid = s.get("id") or Path(str(s.get("_source", ""))).stem
        out[str(sid)] = s
    return out


def _check_meta(std: Mapping[str, Any], check: str) -> Mapping[str, Any]:
    found = _section_meta(std.get("checks"), check)
    return found or _section_meta(std.get("per_capita"), check)


def _section_meta(checks: Any, check: str) -> Mapping[str, Any]:
    if isinstance(checks, Mapping):
        found = checks.get(check)
        return found if isinstance(found, Mapping) else {}
    if isinstance(checks, Sequence) and not isinstance(checks, str):
        for c in checks:
            if isinstance(c, Mapping) and str(c.get("id", c.get("name", ""))) == check:
                return c
    return {}


def _compliance(
    tables: dict[str, pd.DataFrame], levels: list[str], summary: pd.Series, standards: Any, lang: str,
    measurability: Mapping[str, Any] | None = None,
) -> list[dict[str, str]]:
    index = _standards_index(standards)
    lowest = tables[levels[0]]
    flags: list[str] = []
    for t in tables.values():
        flags += [c for c in t.columns if str(c).startswith("ok__") and c not in flags]
    rows = []
    for col in flags:
        parts = col.split("__")
        std_id = parts[1] if len(parts) > 1 else ""
        check = "__".join(parts[2:]) if len(parts) > 2 else ""
        std = index.get(std_id, {})
        meta = _check_meta(std, check) if std else {}
        std_name = _localized(std.get("name"), lang) or std_id.replace("_", " ")
        citation = _localized(std.get("citation") or std.get("legal_source") or std.get("source"), lang)
        check_label = _localized(
            meta.get("label") or meta.get("description") or meta.get("name"), lang
        ) or check.replace("_", " ")
        value = summary.get(col)
        outcome = summary.get("result__" + col[len("ok__"):])
        if not isinstance(outcome, str):
            outcome = "no_data" if value is None or pd.isna(value) else ("met" if bool(value) else "not_met")
        indicator = str(meta.get("indicator", ""))
        known = dict((measurability or {}).get(indicator) or {})
        if outcome == "not_measurable":
            reason = i18n.text(f"nm_{known.get('reason', 'not_measurable')}", lang)
            result, css = f"{i18n.text('not_measurable', lang)}: {reason}", "unknown"
        elif outcome == "no_data":
            result, css = i18n.text("unknown", lang), "unknown"
        elif outcome == "met":
            result, css = i18n.text("met", lang), "ok"
            if known.get("status") == "lower_bound":
                result += f" ({i18n.text('met_by_lower_bound', lang)})"
        else:
            result, css = i18n.text("not_met", lang), "fail"
        if col in lowest and len(tables) > 1:
            v = lowest[col]
            known_zones = v.dropna()
            zones = f"{int(known_zones.astype(bool).sum())} / {len(known_zones)}" if len(known_zones) else "–"
            res = lowest.get("result__" + col[len("ok__"):])
            n_nm = int((res == "not_measurable").sum()) if res is not None else 0
            if n_nm:
                zones += f" ({i18n.text('zones_not_measurable', lang, n=i18n.format_number(n_nm, lang, decimals=0))})"
        else:
            zones = "–"
        rows.append(
            {
                "column": col,
                "standard_name": std_name,
                "citation": citation,
                "check_label": check_label,
                "result": result,
                "css": css,
                "zones": zones,
            }
        )
    return rows


def _parent_names(tables: dict[str, pd.DataFrame], levels: list[str]) -> dict[str, str]:
    if len(levels) < 2:
        return {}
    upper = tables[levels[1]]
    return dict(zip(upper["zone_id"].astype(str), upper["zone_name"].astype(str), strict=False))


def _rankings(
    tables: dict[str, pd.DataFrame], levels: list[str], lang: str, *, n: int = 10
) -> list[dict[str, Any]]:
    lowest = tables[levels[0]]
    parents = _parent_names(tables, levels)
    blocks = []
    for col in _RANKED:
        if col not in lowest:
            continue
        v = pd.to_numeric(lowest[col], errors="coerce")
        ok = v.notna()
        if not ok.any():
            continue
        data = lowest.loc[ok].assign(_v=v[ok])
        # ties broken by name so that the order is stable
        ordered = data.sort_values(["_v", "zone_name"], ascending=[False, True], kind="mergesort")
        bottom = data.sort_values(["_v", "zone_name"], ascending=[True, True], kind="mergesort")
        sides = []
        for caption, frame in (
            (i18n.text("highest", lang), ordered.head(n)),
            (i18n.text("lowest", lang), bottom.head(n)),
        ):
            rows = [
                {
                    "rank": i + 1,
                    "name": str(r["zone_name"]),
                    "parent": parents.get(str(r.get("parent_id", "")), str(r.get("parent_id", "") or "")),
                    "value": i18n.format_number(r["_v"], lang, decimals=1),
                }
                for i, (_, r) in enumerate(frame.iterrows())
            ]
            sides.append({"caption": caption, "rows": rows})
        label = i18n.indicator_label(col, lang)
        blocks.append(
            {
                "column": col,
                "title": i18n.text("by", lang, indicator=label),
                "unit": i18n.indicator_unit(col, lang),
                "sides": sides,
            }
        )
    return blocks


def _bar_chart(
    names: list[str], values: np.ndarray, *, xlabel: str, target: float | None, target_label: str, lang: str
) -> str:
    """Horizontal bars of ``values`` (sorted), as a base64 PNG."""
    import warnings

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    order = np.argsort(values, kind="mergesort")
    names = [names[i] for i in order]
    values = values[order]
    fig = Figure(figsize=(8, max(2.5, 0.28 * len(names) + 1.0)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.barh(range(len(values)), values, color="#31a354")
    ax.set_yticks(range(len(values)))
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xlabel(xlabel)
    if target is not None:
        ax.axvline(target, color="#b2182b", linestyle="--", linewidth=1.2, label=target_label)
        ax.legend(loc="lower right", fontsize=8)
    if lang == "id":
        from matplotlib.ticker import FuncFormatter

        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: i18n.format_number(x, "id", decimals=0)))
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glyphs missing from the default font (e.g. Hangul)
        fig.tight_layout()
        fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _target_line(standards: Any, indicator: str) -> float | None:
    """Threshold of the first ">=" check or per-capita target on ``indicator`` among the city's own standards."""
    for std in _standards_index(standards).values():
        for c in std.get("checks", []) or []:
            if isinstance(c, Mapping) and c.get("indicator") == indicator and c.get("op") in (">=", ">"):
                return float(c["threshold"])
        for c in std.get("per_capita", []) or []:
            if isinstance(c, Mapping) and c.get("indicator") == indicator:
                return float(c["target_m2"])
    return None


def _charts(
    tables: dict[str, pd.DataFrame], levels: list[str], summary_level: str, city: CityProfile, lang: str,
    standards: Any = None,
) -> list[dict[str, str]]:
    below = [lv for lv in levels if lv != summary_level]
    if not below:
        return []
    level = below[-1]
    table = tables[level]
    if len(table) > 60:
        return []
    label = i18n.level_label(level, lang, city=city)
    names = table["zone_name"].astype(str).tolist()
    charts = []
    for col, key in (("rth_pct", "chart_rth_by_zone"), ("rth_per_capita_m2", "chart_per_capita")):
        target = _target_line(standards, col)
        if col not in table:
            continue
        v = pd.to_numeric(table[col], errors="coerce").to_numpy(float)
        ok = np.isfinite(v)
        if not ok.any():
            continue
        png = _bar_chart(
            [n for n, k in zip(names, ok, strict=False) if k],
            v[ok],
            xlabel=i18n.indicator_title(col, lang),
            target=target,
            target_label=i18n.text("target_line", lang),
            lang=lang,
        )
        charts.append({"png": png, "caption": i18n.text(key, lang, level=label)})
    return charts


def _sources(tables: dict[str, pd.DataFrame], run_info: Mapping[str, Any], lang: str,
             city: CityProfile | None = None) -> list[dict[str, str]]:
    given = run_info.get("sources")
    if given:
        out = []
        for s in given:
            if isinstance(s, Mapping):
                out.append(
                    {
                        "name": _localized(s.get("name", ""), lang),
                        "licence": _localized(s.get("licence", s.get("license", "")), lang),
                        "date": str(s.get("date", "") or ""),
                    }
                )
            else:
                out.append({"name": str(s), "licence": "", "date": ""})
        return out
    inputs = [i for i in run_info.get("inputs") or [] if isinstance(i, Mapping)]
    roles = {str(i.get("role", "")) for i in inputs}
    out = []
    if "osm" in roles or any(str(i.get("path", "")).startswith("osm:") for i in inputs) or not inputs:
        out.append({
            "name": "OpenStreetMap",
            "licence": "© OpenStreetMap contributors, ODbL",
            "date": str(run_info.get("osm_date", "") or ""),
        })
    for i in inputs:
        role, name = str(i.get("role", "")), Path(str(i.get("path", ""))).name
        entry = next((s for s in (city.sources if city is not None else ())
                      if s.get("role") == role and str(s.get("match", "")) in name), None)
        if entry is not None:
            out.append({"name": _localized(entry.get("name", ""), lang) + f" ({name})",
                        "licence": _localized(entry.get("licence", ""), lang), "date": ""})
    if _any_column(tables, _RASTER_COLUMNS):
        out.append(
            {
                "name": "Sentinel-2 (Copernicus)",
                "licence": "Contains modified Copernicus Sentinel data",
                "date": str(run_info.get("satellite_date", run_info.get("raster_date", "")) or ""),
            }
        )
    for role in ("boundaries", "population"):
        if run_info.get(role):
            out.append(
                {
                    "name": str(run_info[role]),
                    "licence": str(run_info.get(f"{role}_licence", "") or ""),
                    "date": str(run_info.get(f"{role}_date", "") or ""),
                }
            )
    return out


def _run_rows(run_info: Mapping[str, Any]) -> list[tuple[str, str]]:
    skip = {
        "sources",
        "osm_date",
        "satellite_date",
        "raster_date",
        "boundaries",
        "population",
        "boundaries_licence",
        "population_licence",
        "boundaries_date",
        "population_date",
    }
    rows = []
    for k, v in run_info.items():
        if k in skip or isinstance(v, (Mapping, list, tuple, set)):
            continue
        rows.append((str(k), str(v)))
    return rows


# --------------------------------------------------------------------------- public API


def render_report(
    zone_tables: Mapping[str, pd.DataFrame],
    *,
    city: CityProfile,
    lang: str = "id",
    synthetic: bool = False,
    run_info: Mapping[str, Any] | None = None,
    standards: Any = None,
    green_spaces: Any = None,
    title: str | None = None,
    charts: bool = True,
) -> str:
    """Render the report to an HTML string (see :func:`write_report` for the parameters)."""
    lang = i18n.check_lang(lang)
    tables, levels = _check_tables(zone_tables, city)
    run_info = dict(run_info or {})
    summary_level = levels[-1]
    summary = _summary_row(tables[summary_level])
    summary_label = i18n.level_label(summary_level, lang, city=city)
    summary_name = str(summary.get("zone_name", "") or "") or city.name
    lowest_label = i18n.level_label(levels[0], lang, city=city)
    parent_label = i18n.level_label(levels[1], lang, city=city) if len(levels) > 1 else ""

    def t(key: str, **fields: Any) -> str:
        return i18n.text(key, lang, **fields)

    has_raster = _any_column(tables, _RASTER_COLUMNS)
    input_roles = {str(i.get("role", "")) for i in run_info.get("inputs") or [] if isinstance(i, Mapping)}
    from_osm = "osm" in input_roles or any(
        str(i.get("path", "")).startswith("osm:") for i in run_info.get("inputs") or [] if isinstance(i, Mapping)
    ) or not run_info.get("inputs")
    methods = [t("method_rth" if from_osm else "method_rth_parks", crs=city.metric_crs)]
    if len(levels) > 1:
        methods.append(t("method_levels", upper=summary_label, lower=lowest_label))
    if has_raster:
        methods.append(t("method_raster"))
    if _any_column(tables, _ACCESS_COLUMNS):
        methods.append(t("method_access"))
    if from_osm and green_spaces is not None and hasattr(green_spaces, "__len__"):
        n_public = (
            int(pd.Series(green_spaces["is_public"]).fillna(False).astype(bool).sum())
            if "is_public" in getattr(green_spaces, "columns", [])
            else None
        )
        methods.append(
            f"{i18n.text('green_spaces', lang)}: {i18n.format_number(len(green_spaces), lang, decimals=0)}"
            + (
                f" ({i18n.text('public', lang)}: {i18n.format_number(n_public, lang, decimals=0)})"
                if n_public is not None
                else ""
            )
        )
    caveats = [*quality_findings(run_info or {}, lang)] + ([t("caveat_osm"), t("caveat_tags")] if from_osm else [])
    if has_raster:
        caveats.append(t("caveat_satellite"))
    caveats += [t("caveat_population", level=lowest_label), t("caveat_boundaries")]

    context = {
        "lang": lang,
        "t": t,
        "version": _version(),
        "title": title or t("report_title", city=city.name),
        "synthetic": bool(synthetic),
        "generated": str(
            run_info.get("created", "") or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        ),
        "summary_label": summary_label,
        "summary_name": summary_name,
        "lowest_label": lowest_label,
        "parent_label": parent_label,
        "has_parent": len(levels) > 1,
        "cards": _cards(summary, lang, tables[levels[0]] if len(levels) > 1 else None, from_osm,
                        str((run_info.get("methods") or {}).get("distance", ""))),
        "compliance": _compliance(tables, levels, summary, standards, lang,
                                  measurability=(run_info.get("methods") or {}).get("measurability")),
        "rankings": _rankings(tables, levels, lang) if len(tables[levels[0]]) > 1 else [],
        "charts": _charts(tables, levels, summary_level, city, lang, standards) if charts else [],
        "methods": methods,
        "sources": _sources(tables, run_info, lang, city),
        "run_rows": _run_rows({k: v for k, v in run_info.items() if k != "created"}),
        "caveats": caveats,
    }
    return _environment().get_template("report.html.j2").render(**context)


def write_report(
    zone_tables: Mapping[str, pd.DataFrame],
    out_path: str | os.PathLike[str],
    *,
    city: CityProfile,
    lang: str = "id",
    synthetic: bool = False,
    run_info: Mapping[str, Any] | None = None,
    standards: Any = None,
    green_spaces: Any = None,
    title: str | None = None,
    charts: bool = True,
    pdf: bool = False,
) -> Path:
    """Write the HTML report of a study as one self-contained file, atomically.

    Parameters
    ----------
    zone_tables : dict of level -> DataFrame
        Zone indicator tables (GeoDataFrames accepted; geometry is ignored), levels as in
        ``city.levels``. The highest level given is summarised (one row: the city; several
        rows are summed); the lowest is ranked.
    out_path : path-like
        The ``.html`` file to write (its folder must exist).
    city : CityProfile
        Names the levels and the city.
    lang : {"id", "en", "ko"}
        Language of the report (Bahasa Indonesia by default).
    synthetic : bool
        Show the "SYNTHETIC / data sintetis" banner.
    run_info : dict, optional
        ``sources`` (list of dicts with ``name``, ``licence``, ``date``; default OSM and,
        with raster indicators, Copernicus Sentinel), ``osm_date``, ``satellite_date``,
        ``created``, and any scalar entries to list under "run".
    standards : dict or list of dict, optional
        Loaded standards (``profiles.load_standard``), keyed by id or carrying ``id``;
        ``name``, ``citation`` and ``checks`` (id -> ``label``/``description``) name each
        ``ok__<standard>__<check>`` flag.
    green_spaces : GeoDataFrame, optional
        Counted in the methods section.
    title : str, optional
        Default "Laporan RTH <city>" in the report's language.
    charts : bool
        Embed bar charts (matplotlib, PNG).
    pdf : bool
        Also write ``<out_path>.pdf`` when weasyprint is installed (skipped with a log
        message otherwise).

    Returns
    -------
    pathlib.Path
        The HTML file written.
    """
    out = Path(out_path)
    page = render_report(
        zone_tables,
        city=city,
        lang=lang,
        synthetic=synthetic,
        run_info=run_info,
        standards=standards,
        green_spaces=green_spaces,
        title=title,
        charts=charts,
    )
    atomic_write(out, lambda tmp: tmp.write_bytes(page.encode("utf-8")))
    log.info("wrote report %s (%.0f kB)", out, out.stat().st_size / 1e3)
    if pdf:
        _write_pdf(page, out.with_suffix(".pdf"))
    return out


def _write_pdf(page: str, path: Path) -> Path | None:
    try:
        import weasyprint  # type: ignore[import-not-found]
    except ImportError:
        log.warning("PDF skipped: weasyprint is not installed (pip install weasyprint)")
        return None
    data = weasyprint.HTML(string=page).write_pdf()
    atomic_write(path, lambda tmp: tmp.write_bytes(data))
    log.info("wrote %s", path)
    return path


def quality_findings(run_info: Mapping[str, Any], lang: str = "id") -> list[str]:
    """Data-quality findings of a run, one sentence each, in ``lang``: what a reader of its numbers must know.

    Unmatched zones and table rows (and the people they hold), duplicate rows dropped,
    boundary overlaps, gaps and repairs, zones excluded, then the run's own notes
    (fallbacks such as straight-line distances).
    """
    ex = dict(run_info.get("excluded") or {})

    def num(v: Any, decimals: int = 0) -> str:
        return i18n.format_number(float(v), lang, decimals=decimals)

    out: list[str] = []
    pq = dict((run_info.get("qa") or {}).get("population") or {})

    def examples(key: str) -> str:
        names = [n for n in pq.get(key) or [] if n]
        return f": {', '.join(names)}" if names else ""

    if ex.get("population_unmatched_zones"):
        out.append(i18n.text("dq_unmatched_zones", lang, n=num(ex["population_unmatched_zones"]))
                   + examples("unmatched_zone_names"))
    if ex.get("population_unmatched_rows"):
        out.append(i18n.text("dq_unmatched_rows", lang, n=num(ex["population_unmatched_rows"]),
                             people=num(ex.get("population_unmatched_people", 0))) + examples("unmatched_row_names"))
    if pq.get("disagreements"):
        out.append(i18n.text("dq_population_disagreements", lang, n=num(pq["disagreements"]))
                   + examples("disagreement_names"))
    if ex.get("population_duplicate_rows"):
        out.append(i18n.text("dq_duplicate_rows", lang, n=num(ex["population_duplicate_rows"])))
    b = dict((run_info.get("qa") or {}).get("boundaries") or {})
    if b.get("n_overlapping_pairs"):
        out.append(i18n.text("dq_overlaps", lang, n=num(b["n_overlapping_pairs"]),
                             ha=num(b.get("overlap_area_m2", 0) / 1e4, 2)))
    if b.get("n_gaps"):
        out.append(i18n.text("dq_gaps", lang, n=num(b["n_gaps"]), ha=num(b.get("gap_area_m2", 0) / 1e4, 2)))
    if b.get("repaired_invalid"):
        out.append(i18n.text("dq_repaired", lang, n=num(b["repaired_invalid"])))
    for key, n in ex.items():
        if key.startswith("zones_") and n:
            reason = i18n.text(f"dq_reason_{key}", lang, names=", ".join(b.get("other_city_names") or []))
            out.append(i18n.text("dq_zones_excluded", lang, n=num(n), reason=reason))
    out += [str(n) for n in run_info.get("notes") or []]
    return out


def _slug(text: str, limit: int = 80) -> str:
    """``text`` as a file name: ASCII letters, digits, ``_.-``; long ones cut and made unique by a hash."""
    s = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "zone"
    if len(s) > limit:
        import hashlib

        s = s[:limit].rstrip("._") + "_" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
    return s


def _subtables(
    tables: dict[str, pd.DataFrame], levels: list[str], by_level: str, zone_id: str
) -> dict[str, pd.DataFrame]:
    pos = levels.index(by_level)
    out = {by_level: tables[by_level][tables[by_level]["zone_id"].astype(str) == zone_id]}
    ids = {zone_id}
    for level in reversed(levels[:pos]):
        t = tables[level]
        if "parent_id" not in t:
            raise InputError(
                f"zone_tables[{level!r}] needs a parent_id column to split reports by {by_level}"
            )
        sub = t[t["parent_id"].astype(str).isin(ids)]
        out[level] = sub
        ids = set(sub["zone_id"].astype(str))
    return {lv: out[lv] for lv in levels if lv in out and len(out[lv])}


def write_batch_reports(
    zone_tables: Mapping[str, pd.DataFrame],
    out_dir: str | os.PathLike[str],
    *,
    by_level: str,
    city: CityProfile,
    lang: str = "id",
    synthetic: bool = False,
    run_info: Mapping[str, Any] | None = None,
    standards: Any = None,
    charts: bool = True,
    index_columns: Iterable[str] = ("rth_pct", "rth_per_capita_m2"),
) -> Path:
    """Write one report per zone of ``by_level`` (e.g. per kecamatan) and an index page.

    Each report covers that zone (summary) and the zones below it (rankings, charts).
    Files are named ``<by_level>_<zone_id>.html`` (unsafe characters replaced) in
    ``out_dir``, which is created if needed; the index is ``index.html``.

    Parameters
    ----------
    zone_tables : dict of level -> DataFrame
        As for :func:`write_report`; lower levels need ``parent_id``.
    out_dir : path-like
    by_level : str
        A level of ``city.levels`` other than the lowest, e.g. ``"kecamatan"``.
    city, lang, synthetic, run_info, standards, charts
        As for :func:`write_report`.
    index_columns : iterable of str
        Indicators listed for each zone on the index page.

    Returns
    -------
    pathlib.Path
        The index page.
    """
    lang = i18n.check_lang(lang)
    tables, levels = _check_tables(zone_tables, city)
    if by_level not in tables:
        raise InputError(f"by_level {by_level!r} is not among the tables given: {levels}")
    if by_level == levels[0]:
        raise InputError(f"by_level must be above the lowest level {levels[0]!r}; got {by_level!r}")
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    level_label = i18n.level_label(by_level, lang, city=city)
    shared = {"city": city, "lang": lang, "synthetic": synthetic, "run_info": run_info, "standards": standards}
    rows = []
    used: set[str] = set()
    index_columns = [c for c in index_columns if c in tables[by_level]]
    for _, zone in tables[by_level].iterrows():
        zid = str(zone["zone_id"])
        name = _slug(f"{by_level}_{zid}")
        while name in used:
            name += "_"
        used.add(name)
        sub = _subtables(tables, levels, by_level, zid)
        title = f"{i18n.text('report_title', lang, city=city.name)} · {level_label} {zone['zone_name']}"
        write_report(sub, folder / f"{name}.html", title=title, charts=charts, **shared)
        rows.append(
            {
                "href": f"{name}.html",
                "name": str(zone["zone_name"]),
                "values": [i18n.format_number(_num(zone[c]), lang, decimals=1) for c in index_columns],
            }
        )

    def t(key: str, **fields: Any) -> str:
        return i18n.text(key, lang, **fields)

    page = (
        _environment()
        .get_template("index.html.j2")
        .render(
            lang=lang,
            t=t,
            version=_version(),
            synthetic=bool(synthetic),
            rows=rows,
            level_label=level_label,
            headers=[i18n.indicator_title(c, lang) for c in index_columns],
            title=t("index_title", level=level_label, city=city.name),
        )
    )
    index = atomic_write(folder / "index.html", lambda tmp: tmp.write_bytes(page.encode("utf-8")))
    log.info("wrote %d %s reports and %s", len(rows), by_level, index)
    return index
