"""Two finished runs side by side: the sister-city comparison.

:func:`compare_runs` reads only the files a ``report`` run wrote (``run.json`` and
``indicators_<level>.csv``) and writes ``comparison.html`` and ``comparison.csv``. The
same indicators are shown for both cities, at city level and as distributions over
the lowest zones (median, 10th and 90th percentile, share of zones meeting a rule),
each against the rules of the city's own country and against the international ones.
Where a city lacks an input (no satellite raster, no population), the row says so
instead of showing a number.

``run.json`` keys read
----------------------
``city.id``, ``city.name``, ``city.levels`` (lowest first) are required;
``city.country``, ``city.standards`` (ids), ``standards`` (list of ``{"id", "source",
"citation", "checks"?}``), ``synthetic``, ``notice``, ``created``, ``version``,
``inputs`` (``[{"role", "path", "sha256"}]``), ``rasters`` (``{"given": bool, "date"}``
or a bool) and ``methods`` (``distance``, ``population``, ``parks_as_points``) are
optional.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._log import get_logger
from .errors import InputError, ProfileError
from .i18n import LANGUAGES, check_lang, format_number, indicator_title
from .i18n import text as _text
from .profiles import PROFILE_DIR, read_toml

log = get_logger(__name__)

__all__ = [
    "compare_runs",
    "read_run",
    "comparison_table",
    "Run",
    "COMPARISON_COLUMNS",
    "CORE_INDICATORS",
    "LANGUAGES",
]

#: Indicators always compared, in this order; rules may add more (e.g. RTH share of area).
CORE_INDICATORS = [
    "park_area_per_capita_m2",
    "rth_per_capita_m2",
    "pop_within_300m_green_0_5ha_pct",
    "green_cover_pct",
]

#: Indicators that only a satellite raster (or land-cover raster) gives.
RASTER_INDICATORS = {"green_cover_pct", "tree_cover_pct", "ndvi_mean", "valid_pixel_pct"}

#: International rules evaluated for every city when their profiles exist.
INTERNATIONAL_DEFAULTS = ["who_2016", "sdg_11_7_1"]
_INTERNATIONAL_CODES = {"", "INT", "INTL", "UN", "WHO", "GLOBAL", "XX"}

#: Columns of ``comparison.csv``, in order (stable: new information adds columns at the end).
COMPARISON_COLUMNS = [
    "run",
    "city_id",
    "city_name",
    "country",
    "indicator",
    "unit",
    "standard_id",
    "standard_name",
    "scope",
    "check_id",
    "op",
    "threshold",
    "measured",
    "note",
    "city_value",
    "city_meets",
    "zone_level",
    "zones_n",
    "zones_with_value_n",
    "zone_median",
    "zone_p10",
    "zone_p90",
    "zones_meeting_pct",
    "synthetic",
]

_UNITS = {
    "park_area_per_capita_m2": "m2_per_person",
    "rth_per_capita_m2": "m2_per_person",
    "pop_within_300m_green_0_5ha_pct": "pct",
    "green_cover_pct": "pct",
}

_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Sister-city comparison",
        "indicator": "Indicator",
        "city_value": "City",
        "median": "Median of zones",
        "p10_p90": "Zones p10–p90",
        "zones": "Zones",
        "standard": "Rule",
        "threshold": "Threshold",
        "city_meets": "City meets",
        "zones_meeting": "Zones meeting",
        "yes": "yes",
        "no": "no",
        "not_applicable": "not applicable (rule of another country)",
        "national": "national",
        "international": "international",
        "not_measured": "not measured",
        "no_raster": "no satellite raster given",
        "no_population": "no population given",
        "no_parks": "no park list given",
        "no_values": "no values in the indicator table",
        "no_column": "indicator not in the indicator table",
        "no_access": "access not computed (needs green spaces and population)",
        "summary": "Indicators",
        "rules": "Against the rules",
        "charts": "Distribution over the lowest zones",
        "notes": "Notes and sources",
        "synthetic": "SYNTHETIC DATA: this run used generated sample data, not real measurements.",
        "lowest_level": "lowest zone level",
        "created": "Run created",
        "inputs": "Inputs",
        "methods": "Methods",
        "parks_as_points": (
            "parks given as points with an official area; for access each is a disc of equal area"
        ),
        "distance": "distance",
        "standard_missing": "rule profile not found, not evaluated",
        "caveat": (
            "Zones differ between the cities (size and population of a kelurahan and a dong are not "
            "the same), and park lists (official designated areas) are not the same measure as mapped "
            "green polygons. Compare orders of magnitude and shares of zones, not single decimals."
        ),
        "chart_zones_pct": "% of zones",
        "chart_beyond": "{n} zone(s) above {x} shown in the last bar",
    },
    "id": {
        "title": "Perbandingan kota kembar",
        "indicator": "Indikator",
        "city_value": "Kota",
        "median": "Median zona",
        "p10_p90": "Zona p10–p90",
        "zones": "Zona",
        "standard": "Aturan",
        "threshold": "Ambang",
        "city_meets": "Kota memenuhi",
        "zones_meeting": "Zona memenuhi",
        "yes": "ya",
        "no": "tidak",
        "not_applicable": "tidak berlaku (aturan negara lain)",
        "national": "nasional",
        "international": "internasional",
        "not_measured": "tidak diukur",
        "no_raster": "tidak ada citra satelit",
        "no_population": "tidak ada data penduduk",
        "no_parks": "tidak ada daftar taman",
        "no_values": "tidak ada nilai di tabel indikator",
        "no_column": "indikator tidak ada di tabel indikator",
        "no_access": "akses tidak dihitung (perlu ruang hijau dan penduduk)",
        "summary": "Indikator",
        "rules": "Terhadap aturan",
        "charts": "Sebaran pada zona terendah",
        "notes": "Catatan dan sumber",
        "synthetic": "DATA SINTETIS: proses ini memakai data contoh buatan, bukan pengukuran nyata.",
        "lowest_level": "tingkat zona terendah",
        "created": "Dibuat",
        "inputs": "Masukan",
        "methods": "Metode",
        "parks_as_points": "taman diberikan sebagai titik dengan luas resmi; untuk akses tiap taman dianggap "
        "lingkaran dengan luas yang sama",
        "distance": "jarak",
        "standard_missing": "profil aturan tidak ditemukan, tidak dinilai",
        "caveat": (
            "Zona kedua kota berbeda (luas dan penduduk kelurahan dan dong tidak sama), dan daftar taman "
            "(luas resmi) bukan ukuran yang sama dengan poligon hijau hasil pemetaan. Bandingkan besaran "
            "dan porsi zona, bukan angka desimal tunggal."
        ),
        "chart_zones_pct": "% zona",
        "chart_beyond": "{n} zona di atas {x} ditampilkan di batang terakhir",
    },
    "ko": {
        "title": "자매도시 비교",
        "indicator": "지표",
        "city_value": "도시",
        "median": "구역 중앙값",
        "p10_p90": "구역 p10–p90",
        "zones": "구역 수",
        "standard": "기준",
        "threshold": "기준값",
        "city_meets": "도시 충족",
        "zones_meeting": "충족 구역",
        "yes": "예",
        "no": "아니오",
        "not_applicable": "해당 없음 (다른 나라 기준)",
        "national": "국내",
        "international": "국제",
        "not_measured": "측정 안 됨",
        "no_raster": "위성영상 없음",
        "no_population": "인구 자료 없음",
        "no_parks": "공원 목록 없음",
        "no_values": "지표 표에 값 없음",
        "no_column": "지표 표에 없는 지표",
        "no_access": "접근성 미계산 (녹지와 인구 필요)",
        "summary": "지표",
        "rules": "기준 대비",
        "charts": "최하위 구역 분포",
        "notes": "주석 및 출처",
        "synthetic": "합성 자료: 이 실행은 실제 측정이 아닌 생성된 예시 자료를 사용했습니다.",
        "lowest_level": "최하위 구역 단계",
        "created": "실행 일시",
        "inputs": "입력",
        "methods": "방법",
        "parks_as_points": "공원은 공식 면적을 가진 점으로 주어짐; 접근성에서는 같은 면적의 원으로 간주",
        "distance": "거리",
        "standard_missing": "기준 프로필 없음, 평가하지 않음",
        "caveat": (
            "두 도시의 구역(켈루라한과 동)의 크기와 인구는 같지 않고, 공원 목록(공식 결정 면적)은 지도화한 "
            "녹지 폴리곤과 같은 척도가 아닙니다. 소수점이 아닌 규모와 구역 비율을 비교하십시오."
        ),
        "chart_zones_pct": "% of zones",
        "chart_beyond": "{n} zone(s) above {x} shown in the last bar",
    },
}

_OPS = {
    ">=": np.greater_equal,
    ">": np.greater,
    "<=": np.less_equal,
    "<": np.less,
    "==": np.equal,
}


@dataclass
class Run:
    """A finished ``report`` output folder, as read by :func:`read_run`."""

    path: Path
    info: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    city_id: str
    city_name: str
    country: str
    levels: list[str]
    standards: list[dict[str, Any]] = field(default_factory=list)
    missing_standards: list[str] = field(default_factory=list)

    @property
    def lowest(self) -> pd.DataFrame:
        """Indicator table of the lowest zone level."""
        return self.tables[self.levels[0]]

    @property
    def top(self) -> pd.DataFrame:
        """Indicator table of the city level."""
        return self.tables[self.levels[-1]]

    @property
    def synthetic(self) -> bool:
        """True when the run was made on synthetic data."""
        return bool(self.info.get("synthetic", False))

    @property
    def rasters_given(self) -> bool:
        """True when a satellite raster (or land cover) was an input of the run."""
        r = self.info.get("rasters", False)
        if isinstance(r, Mapping):
            return bool(r.get("given", False))
        return bool(r)

    @property
    def input_roles(self) -> set[str]:
        """Roles of the input files (``boundaries``, ``population``, ``parks``, ...)."""
        return {str(i.get("role", "")) for i in self.info.get("inputs", []) if isinstance(i, Mapping)}


def _expected(folder: Path) -> str:
    return (
        f"expected {folder} to be the output folder of a `report` run, holding run.json "
        "(with city.id, city.name, city.levels) and indicators_<level>.csv for each level"
    )


def _standard_from_profile(sid: str, embedded: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if embedded and (embedded.get("checks") or embedded.get("per_capita")):
        return dict(embedded)
    candidates = [PROFILE_DIR / "standards" / f"{sid}.toml"]
    src = (embedded or {}).get("source")
    if src:
        candidates.append(Path(str(src)))
    for path in candidates:
        if path.is_file():
            try:
                data = read_toml(path)
            except ProfileError as exc:
                log.warning("standard %s not usable: %s", sid, exc)
                return None
            data.setdefault("id", sid)
            return data
    return None


def _rule_checks(std: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return a standard's checks plus its ``[[per_capita]]`` targets read as ``indicator >= target_m2``."""
    checks = [dict(c) for c in std.get("checks", []) or []]
    seen = {(c.get("indicator"), c.get("op"), float(c.get("threshold", math.nan))) for c in checks}
    for pc in std.get("per_capita", []) or []:
        if not all(k in pc for k in ("id", "indicator", "target_m2")):
            continue
        key = (pc["indicator"], ">=", float(pc["target_m2"]))
        if key not in seen:
            seen.add(key)
            checks.append({"id": pc["id"], "indicator": pc["indicator"], "op": ">=",
                           "threshold": float(pc["target_m2"]), "unit": "m2_per_person"})
    return checks


def _check_standard(std: Mapping[str, Any], where: str) -> None:
    if not isinstance(std.get("checks", []), list) or not isinstance(std.get("per_capita", []), list):
        raise InputError(f"{where}: 'checks' and 'per_capita' must be lists of tables")
    for c in _rule_checks(std):
        missing = [k for k in ("id", "indicator", "op", "threshold") if k not in c]
        if missing:
            raise InputError(f"{where}: a check lacks {missing}")
        if c["op"] not in _OPS:
            raise InputError(f"{where}: check {c['id']!r} has op {c['op']!r}; expected one of {list(_OPS)}")


def read_run(run_dir: str | os.PathLike[str]) -> Run:
    """Read a finished ``report`` output folder (``run.json`` and the indicator tables).

    Parameters
    ----------
    run_dir : path-like
        Folder written by ``bandung-mapping report``.

    Returns
    -------
    Run
        The run record, the indicator table of each level (``zone_id`` as text) and the
        standards that apply (from ``run.json``, else the bundled profiles by id).

    Raises
    ------
    InputError
        When the folder is missing or is not a report output, naming what was expected.
    """
    folder = Path(run_dir)
    if not folder.is_dir():
        raise InputError(f"run folder not found: {folder}; {_expected(folder)}")
    rj = folder / "run.json"
    if not rj.is_file():
        raise InputError(f"{folder} has no run.json; {_expected(folder)}")
    try:
        info = json.loads(rj.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{rj} is not valid JSON ({exc}); {_expected(folder)}") from exc
    city = info.get("city") if isinstance(info, dict) else None
    if not isinstance(city, dict) or not all(k in city for k in ("id", "name", "levels")):
        raise InputError(f"{rj} lacks city.id, city.name or city.levels; {_expected(folder)}")
    levels = [str(v) for v in city["levels"]] if isinstance(city["levels"], list) else []
    if not levels:
        raise InputError(f"{rj}: city.levels must be a non-empty list of level names, lowest first")
    tables: dict[str, pd.DataFrame] = {}
    missing = [f"indicators_{lv}.csv" for lv in levels if not (folder / f"indicators_{lv}.csv").is_file()]
    if missing:
        raise InputError(f"{folder} lacks {missing}; {_expected(folder)}")
    for lv in levels:
        path = folder / f"indicators_{lv}.csv"
        try:
            t = pd.read_csv(path, dtype={"zone_id": str, "parent_id": str}, encoding="utf-8")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(f"{path} is not a readable CSV ({exc}); {_expected(folder)}") from exc
        if "zone_id" not in t.columns:
            raise InputError(f"{path} has no zone_id column; expected a zone table (zone_id, zone_name, ...)")
        tables[lv] = t
    if len(tables[levels[-1]]) != 1:
        n_top = len(tables[levels[-1]])
        log.warning("%s: city level %r has %d rows; the first is used", folder, levels[-1], n_top)
    embedded = {
        str(s.get("id")): s for s in info.get("standards", []) if isinstance(s, Mapping) and s.get("id")
    }
    ids = [str(s) for s in city.get("standards", [])] or list(embedded)
    standards, not_found = [], []
    for sid in ids:
        std = _standard_from_profile(sid, embedded.get(sid))
        if std is None:
            not_found.append(sid)
            log.warning("%s: standard %r not found (no bundled profile, no checks in run.json)", folder, sid)
            continue
        _check_standard(std, f"standard {sid}")
        standards.append(std)
    return Run(
        path=folder,
        info=info,
        tables=tables,
        city_id=str(city["id"]),
        city_name=str(city["name"]),
        country=str(city.get("country", "")),
        levels=levels,
        standards=standards,
        missing_standards=not_found,
    )


def _is_international(std: Mapping[str, Any]) -> bool:
    return str(std.get("country", "")).upper() in _INTERNATIONAL_CODES


def _applicable(runs: list[Run]) -> list[list[tuple[dict[str, Any], str]]]:
    """For each run, the (standard, scope) pairs evaluated for it."""
    international: dict[str, dict[str, Any]] = {}
    for r in runs:
        for s in r.standards:
            if _is_international(s):
                international.setdefault(str(s["id"]), s)
    for sid in INTERNATIONAL_DEFAULTS:
        if sid not in international:
            s = _standard_from_profile(sid, None)
            if s is not None and _is_international(s):
                _check_standard(s, f"standard {sid}")
                international[sid] = s
    out = []
    for r in runs:
        pairs = [(s, "national") for s in r.standards if not _is_international(s)
                 and str(s.get("country", "")).upper() == r.country.upper()]
        pairs += [(s, "international") for s in international.values()]
        out.append(pairs)
    return out


def _values(table: pd.DataFrame, column: str) -> pd.Series:
    if column not in table.columns:
        return pd.Series(np.nan, index=table.index, dtype=float)
    return pd.to_numeric(table[column], errors="coerce").astype(float)


def _not_measured_reason(run: Run, indicator: str) -> str | None:
    """Key of the reason an indicator is not measured in ``run``, or None when it is."""
    if indicator in RASTER_INDICATORS and not run.rasters_given:
        return "no_raster"
    low, top = _values(run.lowest, indicator), _values(run.top, indicator)
    if low.notna().any() or top.notna().any():
        return None
    if indicator not in run.lowest.columns and indicator not in run.top.columns:
        return "no_column"
    per_person = "per_capita" in indicator or indicator.startswith("pop_")
    if per_person and _values(run.lowest, "population").fillna(0).le(0).all():
        return "no_population"
    if indicator == "park_area_per_capita_m2" and "parks" not in run.input_roles:
        return "no_parks"
    if indicator.startswith("pop_within"):
        return "no_access"
    return "no_values"


def _name(std: Mapping[str, Any], lang: str) -> str:
    n = std.get("name", std.get("id", ""))
    if isinstance(n, Mapping):
        return str(n.get(lang) or n.get("en") or next(iter(n.values()), std.get("id", "")))
    return str(n)


def _citation(std: Mapping[str, Any], lang: str) -> dict[str, str]:
    return {
        "name": _name(std, lang),
        "citation": str(std.get("citation", "")),
        "url": str(std.get("url", "")),
    }


def _indicators(runs: list[Run], applicable: list[list[tuple[dict[str, Any], str]]]) -> list[str]:
    found = list(CORE_INDICATORS)
    for pairs in applicable:
        for std, _scope in pairs:
            for c in _rule_checks(std):
                if c["indicator"] not in found:
                    found.append(str(c["indicator"]))
    return found


def comparison_table(runs: Iterable[Run], *, lang: str = "en") -> pd.DataFrame:
    """Build the long table behind ``comparison.csv``: one row per run x indicator (x rule check).

    A row with empty ``standard_id`` gives the indicator's city value and its
    distribution over the lowest zones; each further row evaluates one check of one
    rule (``city_meets``, ``zones_meeting_pct``). Unmeasured indicators have
    ``measured`` False, NaN values and the reason in ``note``.
    """
    runs = list(runs)
    check_lang(lang)
    labels = _LABELS[lang]
    applicable = _applicable(runs)
    rows = []
    for indicator in _indicators(runs, applicable):
        for k, (run, pairs) in enumerate(zip(runs, applicable, strict=True)):
            low = _values(run.lowest, indicator)
            top = _values(run.top, indicator)
            valid = low[np.isfinite(low)]
            reason = _not_measured_reason(run, indicator)
            methods = run.info.get("methods") if isinstance(run.info.get("methods"), Mapping) else {}
            known = dict((methods.get("measurability") or {}).get(indicator) or {})
            measured = reason is None and known.get("status") != "not_measurable"
            note = f"{labels['not_measured']}: {labels[reason]}" if reason else ""
            if known and not reason:
                note = f"{_text('not_measurable', lang)}: {_text('nm_' + str(known.get('reason')), lang)}"
            if measured and indicator.startswith("pop_within") and methods.get("parks_as_points"):
                note = labels["parks_as_points"]
            city_value = float(top.iloc[0]) if measured and len(top) else math.nan
            base = {
                "run": k + 1,
                "city_id": run.city_id,
                "city_name": run.city_name,
                "country": run.country,
                "indicator": indicator,
                "unit": _UNITS.get(indicator, ""),
                "measured": measured,
                "note": note,
                "city_value": city_value,
                "zone_level": run.levels[0],
                "zones_n": len(low),
                "zones_with_value_n": int(len(valid)) if measured else 0,
                "zone_median": float(np.median(valid)) if measured and len(valid) else math.nan,
                "zone_p10": float(np.percentile(valid, 10)) if measured and len(valid) else math.nan,
                "zone_p90": float(np.percentile(valid, 90)) if measured and len(valid) else math.nan,
                "synthetic": run.synthetic,
            }
            rows.append({**base, "standard_id": "", "standard_name": "", "scope": "", "check_id": "",
                         "op": "", "threshold": math.nan, "city_meets": None, "zones_meeting_pct": math.nan})
            for std, scope in pairs:
                for c in _rule_checks(std):
                    if c["indicator"] != indicator:
                        continue
                    op, thr = _OPS[c["op"]], float(c["threshold"])
                    meets = bool(op(city_value, thr)) if measured and np.isfinite(city_value) else None
                    share = math.nan
                    if measured and len(valid):
                        share = float(op(valid.to_numpy(), thr).mean() * 100)
                    if known.get("status") == "lower_bound":
                        # a lower bound meets a ">=" line for sure; below it, nothing is known
                        if not (meets and c["op"] in (">=", ">")):
                            meets = None
                        share = math.nan
                    rows.append({
                        **base,
                        "unit": c.get("unit", base["unit"]),
                        "standard_id": str(std["id"]),
                        "standard_name": _name(std, lang),
                        "scope": scope,
                        "check_id": str(c["id"]),
                        "op": c["op"],
                        "threshold": thr,
                        "city_meets": meets,
                        "zones_meeting_pct": share,
                    })
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def _fmt(value: Any, lang: str, digits: int = 2) -> str:
    return format_number(value, lang, decimals=digits)


def _chart(indicator: str, runs: list[Run], rows: pd.DataFrame, lang: str) -> str | None:
    """Boxplot and histogram of the lowest-zone values of both runs, as a base64 PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    chart_lang = "en" if lang == "ko" else lang  # chart fonts may lack Hangul
    labels = _LABELS[chart_lang]
    data, names = [], []
    for run in runs:
        if _not_measured_reason(run, indicator) is not None:
            continue
        v = _values(run.lowest, indicator)
        v = v[np.isfinite(v)]
        if len(v):
            data.append(v.to_numpy())
            names.append(f"{run.city_id} (n={len(v)})")
    if not data:
        return None
    thresholds = sorted(
        rows.loc[(rows["indicator"] == indicator) & rows["threshold"].notna(), "threshold"].unique()
    )
    pooled = np.concatenate(data)
    # long right tails (one dong holding a mountain park) would squash the rest: clip the
    # view at the 95th percentile (or the highest threshold) and say how many lie beyond
    upper = max(float(np.percentile(pooled, 95)), *(float(t) for t in thresholds), 1e-9) * 1.1
    lower = min(float(pooled.min()), 0.0)
    beyond = int((pooled > upper).sum())
    fig = Figure(figsize=(8.0, 3.0), dpi=90)
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
    try:  # matplotlib >= 3.10
        ax1.boxplot(data, orientation="horizontal", whis=(10, 90), showfliers=True)
    except TypeError:  # pragma: no cover
        ax1.boxplot(data, vert=False, whis=(10, 90), showfliers=True)
    ax1.set_yticks(range(1, len(names) + 1), names)
    ax1.set_xlim(lower, upper)
    bins = np.linspace(lower, upper, 21)
    for arr, name in zip(data, names, strict=True):
        weights = np.full(len(arr), 100.0 / len(arr))  # % of each city's zones
        ax2.hist(np.clip(arr, lower, upper), bins=bins, weights=weights, alpha=0.55, label=name)
    for thr in thresholds:
        for ax in (ax1, ax2):
            ax.axvline(thr, color="#b22222", linestyle="--", linewidth=1)
    if beyond:
        text = labels["chart_beyond"].format(n=beyond, x=format_number(upper, chart_lang, decimals=1))
        ax2.set_xlabel(text, fontsize=8)
    ax2.set_ylabel(labels["chart_zones_pct"])
    ax2.legend(fontsize=8)
    fig.suptitle(indicator_title(indicator, chart_lang), fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _context(runs: list[Run], table: pd.DataFrame, lang: str) -> dict[str, Any]:
    labels = _LABELS[lang]
    same = len({r.city_name for r in runs}) < len(runs)
    heads = [f"{r.city_name} ({r.path.name})" if same else r.city_name for r in runs]
    base = table[table["standard_id"] == ""]
    summary = []
    for indicator in dict.fromkeys(base["indicator"]):
        cells = []
        for k in range(len(runs)):
            r = base[(base["indicator"] == indicator) & (base["run"] == k + 1)].iloc[0]
            digits = 1 if indicator.endswith("_pct") else 2
            cells.append({
                "measured": bool(r["measured"]),
                "note": r["note"],
                "city": _fmt(r["city_value"], lang, digits),
                "median": _fmt(r["zone_median"], lang, digits),
                "p10": _fmt(r["zone_p10"], lang, digits),
                "p90": _fmt(r["zone_p90"], lang, digits),
                "n": f"{int(r['zones_with_value_n'])}/{int(r['zones_n'])}",
            })
        summary.append({"label": indicator_title(indicator, lang), "indicator": indicator, "cells": cells})
    checks = table[table["standard_id"] != ""]
    rules = []
    keys = checks[["standard_id", "check_id", "indicator"]].drop_duplicates()
    for _, key in keys.iterrows():
        sel = checks[(checks["standard_id"] == key["standard_id"]) & (checks["check_id"] == key["check_id"])]
        first = sel.iloc[0]
        cells = []
        for k in range(len(runs)):
            r = sel[sel["run"] == k + 1]
            if r.empty:
                cells.append({"applies": False, "text": labels["not_applicable"]})
                continue
            r = r.iloc[0]
            if not r["measured"] or (pd.isna(r["city_meets"]) and r["note"]):
                cells.append({"applies": True, "measured": False, "text": r["note"]})
                continue
            meets = r["city_meets"]
            cells.append({
                "applies": True,
                "measured": True,
                "meets": meets,
                "city": labels["yes"] if meets else (labels["no"] if meets is not None else "–"),
                "value": _fmt(r["city_value"], lang),
                "zones": _fmt(r["zones_meeting_pct"], lang, 0) + " %",
            })
        rules.append({
            "standard": first["standard_name"],
            "standard_id": first["standard_id"],
            "scope": labels[first["scope"]],
            "indicator": indicator_title(first["indicator"], lang),
            "threshold": f"{first['op']} {_fmt(first['threshold'], lang)}",
            "cells": cells,
        })
    charts = []
    for indicator in dict.fromkeys(base["indicator"]):
        png = _chart(indicator, runs, table, lang)
        if png:
            charts.append({"label": indicator_title(indicator, lang), "png": png})
    citations = {}
    for r in runs:
        for s in r.standards:
            citations.setdefault(str(s["id"]), _citation(s, lang))
    for sid in INTERNATIONAL_DEFAULTS:
        s = _standard_from_profile(sid, None)
        if s is not None:
            citations.setdefault(sid, _citation(s, lang))
    run_notes = []
    for r, head in zip(runs, heads, strict=True):
        methods = r.info.get("methods", {}) if isinstance(r.info.get("methods"), Mapping) else {}
        run_notes.append({
            "head": head,
            "synthetic": r.synthetic,
            "notice": str(r.info.get("notice", "")),
            "created": str(r.info.get("created", "")),
            "version": str(r.info.get("version", "")),
            "lowest_level": r.levels[0],
            "zones_n": len(r.lowest),
            "inputs": sorted(r.input_roles - {""}),
            "methods": {str(k): str(v) for k, v in methods.items()},
            "missing_standards": r.missing_standards,
        })
    return {
        "lang": lang,
        "L": labels,
        "heads": heads,
        "summary": summary,
        "rules": rules,
        "charts": charts,
        "citations": list(citations.values()),
        "runs": run_notes,
    }


def compare_runs(
    run_a: str | os.PathLike[str],
    run_b: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    lang: str = "en",
) -> Path:
    """Compare two finished ``report`` runs and write ``comparison.html`` and ``comparison.csv``.

    Parameters
    ----------
    run_a, run_b : path-like
        Output folders of ``bandung-mapping report`` (``run.json`` and
        ``indicators_<level>.csv``; nothing else is read).
    out_dir : path-like
        Folder to write into (created if needed). Both files are written atomically.
    lang : {"en", "id", "ko"}
        Language of the page and of the rule names in the CSV.

    Returns
    -------
    Path
        Path of ``comparison.html``.

    Raises
    ------
    InputError
        When a folder is missing or is not a report output.
    OutputError
        When ``out_dir`` cannot be written.

    Examples
    --------
    >>> compare_runs("out/bandung", "out/daegu", "out/compare", lang="id")  # doctest: +SKIP
    """
    check_lang(lang)
    runs = [read_run(run_a), read_run(run_b)]
    from .outputs import atomic_write, check_output_dir, write_csv
    from .report import _environment

    folder = check_output_dir(out_dir)
    table = comparison_table(runs, lang=lang)
    html = _environment().get_template("compare.html.j2").render(**_context(runs, table, lang))
    write_csv(table, folder / "comparison.csv")
    out = atomic_write(folder / "comparison.html", lambda p: p.write_text(html, encoding="utf-8"))
    log.info("compared %s and %s: wrote %s", runs[0].city_name, runs[1].city_name, out)
    return out
