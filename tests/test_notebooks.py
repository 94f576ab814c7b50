"""The notebooks in notebooks/: stored without outputs, public API only, and they run.

Each notebook is executed with nbclient in a fresh temporary working folder, on a kernel
started with this interpreter (``sys.executable``), so no kernel registration is needed.
The real-data notebook runs on the synthetic sample's files (offline, fast) and, when the
real data folder is present, on the real Bandung files.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ["01_quickstart_sample.ipynb", "02_bandung_real_data.ipynb", "03_batch_reports.ipynb"]
CELL_TIMEOUT_S = 120


class _ThisPythonSpecs(KernelSpecManager):
    """Every kernel name resolves to an IPython kernel on the running interpreter."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name="Python 3",
            language="python",
            name=kernel_name,
        )


def _execute(name: str, cwd: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    km = KernelManager(kernel_name="python3", kernel_spec_manager=_ThisPythonSpecs())
    client = NotebookClient(
        nb, km=km, timeout=CELL_TIMEOUT_S, kernel_name="python3", shutdown_kernel="immediate",
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute(cleanup_kc=True)  # we made the kernel manager: stop the kernel when done
    return nb


def _text(nb: nbformat.NotebookNode, cell_id_suffix: str) -> str:
    """All text output (streams and text/plain results) of the cell whose id ends with the suffix."""
    cells = [c for c in nb.cells if c.get("id", "").endswith(cell_id_suffix)]
    assert len(cells) == 1, f"expected one cell with id ending {cell_id_suffix!r}"
    parts = []
    for out in cells[0].get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.get("data", {}).get("text/plain", ""))
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
    return "".join(parts)


def _html(nb: nbformat.NotebookNode, cell_id_suffix: str) -> str:
    cell = next(c for c in nb.cells if c.get("id", "").endswith(cell_id_suffix))
    shown = [o for o in cell.outputs if o.output_type in ("execute_result", "display_data")]
    return "".join(o.get("data", {}).get("text/html", "") for o in shown)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder; the kernel inherits an offline, local-cache environment."""
    monkeypatch.setenv("BANDUNG_MAPPING_OFFLINE", "1")
    monkeypatch.setenv("BANDUNG_MAPPING_CACHE", str(tmp_path / "cache"))
    for var in ("BM_CITY", "BM_BOUNDARIES", "BM_OSM", "BM_POPULATION", "BM_YEAR"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


# --------------------------------------------------------------------------- stored form
@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_stored_without_outputs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    for cell in code:
        assert cell.outputs == [], f"{name}: cell {cell.id} has stored outputs"
        assert cell.execution_count is None, f"{name}: cell {cell.id} has an execution count"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert len(nb.cells) < 15


@pytest.mark.parametrize("name", NAMES)
def test_notebook_uses_only_the_public_api(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    tree = ast.parse(source)
    imported_as: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "bandung_mapping":
            assert not any(p.startswith("_") for p in node.module.split(".")), node.module
            for alias in node.names:
                assert not alias.name.startswith("_"), alias.name
                imported_as.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "bandung_mapping":
                    assert not any(p.startswith("_") for p in alias.name.split(".")), alias.name
                    imported_as.add(alias.asname or alias.name)
    assert imported_as, f"{name} does not import bandung_mapping"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in imported_as:
            assert not node.attr.startswith("_"), f"{name}: private name {node.value.id}.{node.attr}"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_starts_with_a_title_and_a_line_in_bahasa_indonesia(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    second_line = [line for line in first.source.splitlines() if line.strip()][1]
    # a few common Indonesian words; English text has none of them
    assert {"dan", "dengan", "laporan", "kota", "nyata"} & {w.strip("*:,.").lower() for w in second_line.split()}


# --------------------------------------------------------------------------- execution
def test_quickstart_runs_and_matches_the_truth(workdir: Path) -> None:
    nb = _execute("01_quickstart_sample.ipynb", workdir)
    assert "SYNTHETIC" in _text(nb, "-load")
    assert "8 kelurahan" in _text(nb, "-load")
    table = _text(nb, "-measure")
    assert "pop_within_300m_green_0_5ha_pct" in table and "MEKARJAYA SINTETIS" in table
    html = _html(nb, "-map")
    assert "leaflet" in html.lower() and "<iframe" in html  # folium's notebook representation
    truth = _text(nb, "-truth")
    # the sample's truth: 20 ha of RTH in 640 ha, i.e. 3.125 %
    assert "truth 200,000.0 m² -> match" in truth
    assert "truth 3.125 %" in truth and "measured 3.125 %" in truth
    report = _text(nb, "-report").split()
    assert {"report.html", "map.html", "run.json", "indicators_kelurahan.csv"} <= set(report)
    assert (workdir / "out" / "quickstart" / "report.html").is_file()
    assert (workdir / "cache" / "sample-v1" / "truth.json").is_file()


def test_real_data_notebook_runs_on_the_sample_files(workdir: Path, sample_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from bandung_mapping import sample

    files = sample.sample_files(sample_dir)
    monkeypatch.setenv("BM_CITY", "sample")
    monkeypatch.setenv("BM_BOUNDARIES", str(files["boundaries"]))
    monkeypatch.setenv("BM_OSM", str(files["osm"]))
    monkeypatch.setenv("BM_POPULATION", str(files["population"]))
    monkeypatch.setenv("BM_YEAR", "2024")
    nb = _execute("02_bandung_real_data.ipynb", workdir)
    assert "8 kelurahan" in _text(nb, "-load")
    # the sample: 20 ha of RTH in 640 ha; 98,376 residents in 2024 (semester 1)
    assert "RTH 3.12 % of the area" in _text(nb, "-measure")
    assert "population 98,376" in _text(nb, "-measure")
    rank = _text(nb, "-rank")
    assert "highest RTH share (kelurahan)" in rank and "lowest RTH share (kelurahan)" in rank
    # by construction: Tamansari Baru has the most RTH (94,800 m² of 80 ha = 11.85 %), Sukaraja none
    lines = rank.splitlines()
    assert "TAMANSARI BARU SINTETIS" in lines[2] and "11.85" in lines[2]
    assert "1 of 8 kelurahan have no RTH mapped" in rank
    assert "of 8 kelurahan below 50 %" in _text(nb, "-who")
    assert "leaflet" in _html(nb, "-map").lower()


def test_real_data_notebook_runs_on_real_bandung_files(workdir: Path, shared_data: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    parks = "bandung_public_facilities_parks_overpass_2025-06-16.geojson"
    monkeypatch.setenv("BM_BOUNDARIES", str(shared_data / "boundaries" / "bandung_kelurahan_satudata.geojson"))
    monkeypatch.setenv("BM_OSM", str(shared_data / "osm" / parks))
    monkeypatch.setenv("BM_POPULATION", str(shared_data / "stats" / "penduduk_kelurahan_disdukcapil_2017_2024.csv"))
    nb = _execute("02_bandung_real_data.ipynb", workdir)
    # 151 kelurahan in Kota Bandung; population year 2022 by default
    assert "151 kelurahan" in _text(nb, "-load") and "population year 2022" in _text(nb, "-load")
    assert "of 151 kelurahan have no RTH mapped" in _text(nb, "-rank")
    assert "of 151 kelurahan below 50 %" in _text(nb, "-who")
    assert "leaflet" in _html(nb, "-map").lower()


def test_batch_notebook_writes_every_report(workdir: Path) -> None:
    nb = _execute("03_batch_reports.ipynb", workdir)
    per_kec = _text(nb, "-per-kecamatan").split()
    # the sample has 3 kecamatan: one report each plus the index page
    assert sorted(per_kec) == [
        "per_kecamatan/index.html",
        "per_kecamatan/kecamatan_99.01.01.html",
        "per_kecamatan/kecamatan_99.01.02.html",
        "per_kecamatan/kecamatan_99.01.03.html",
    ]
    assert "batch: 2 task(s), 2 ok, 0 failed (serial" in _text(nb, "-run")
    listed = set(_text(nb, "-files").split())
    assert {"batch.json", "batch.csv", "sample-en/report.html", "sample-id/report.html",
            "sample-id/per_kecamatan/index.html"} <= listed
    assert "sample-en/per_kecamatan/index.html" not in listed
    runs = workdir / "out" / "batch" / "runs"
    assert (runs / "sample-id" / "per_kecamatan" / "kecamatan_99.01.03.html").is_file()
