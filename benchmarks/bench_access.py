"""Benchmark: distance to the nearest green space from every node of a large walk graph.

Builds a synthetic street grid with jitter (``--side`` × ``--side`` nodes, 80 m spacing,
EPSG:32748), places ``--parks`` green-space entry points on random nodes, and times

* ``access.network_distance_from_sources`` on the CSR graph (one Dijkstra pass), and
* ``networkx.multi_source_dijkstra_path_length`` on the same graph,

printing both times and their ratio and writing them as JSON (``--out``).

Run: ``python benchmarks/bench_access.py --side 320`` (writes ``benchmarks/results/bench_access.json``)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np

from bandung_mapping.access import network_distance_from_sources
from bandung_mapping.network import csgraph_from_arrays


def grid_graph(side: int, *, spacing: float = 80.0, jitter: float = 15.0, seed: int = 0):
    """Node coordinates and edges of a jittered ``side`` × ``side`` street grid (EPSG:32748 metres)."""
    rng = np.random.default_rng(seed)
    iy, ix = np.divmod(np.arange(side * side), side)
    x = 790_000.0 + ix * spacing + rng.uniform(-jitter, jitter, side * side)
    y = 9_230_000.0 + iy * spacing + rng.uniform(-jitter, jitter, side * side)
    node = np.arange(side * side).reshape(side, side)
    u = np.concatenate([node[:, :-1].ravel(), node[:-1, :].ravel()])
    v = np.concatenate([node[:, 1:].ravel(), node[1:, :].ravel()])
    drop = rng.random(len(u)) < 0.05  # a few missing street segments
    u, v = u[~drop], v[~drop]
    length = np.hypot(x[u] - x[v], y[u] - y[v]) * rng.uniform(1.0, 1.1, len(u))  # streets bend a little
    return x, y, u, v, length


def main() -> None:
    """Run the benchmark and write its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=320)
    parser.add_argument("--parks", type=int, default=400, help="number of source nodes")
    parser.add_argument("--repeat", type=int, default=5)
    default_out = Path(__file__).resolve().parent / "results" / "bench_access.json"
    parser.add_argument("--out", default=str(default_out), help="JSON output (default: results/bench_access.json)")
    args = parser.parse_args()

    x, y, u, v, length = grid_graph(args.side)
    n = len(x)
    t0 = time.perf_counter()
    csg = csgraph_from_arrays(u, v, length, x, y, crs="EPSG:32748")
    build_s = time.perf_counter() - t0

    rng = np.random.default_rng(1)
    sources = rng.choice(n, size=args.parks, replace=False)
    offsets = rng.uniform(0, 30, size=args.parks)

    ours = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        dist = network_distance_from_sources(csg, sources, offsets)
        ours.append(time.perf_counter() - t0)

    graph = nx.Graph()
    graph.add_weighted_edges_from(zip(u.tolist(), v.tolist(), length.tolist(), strict=False), weight="length")
    # networkx has no per-source offsets: a virtual source joined by the offsets
    # gives the same answer
    virtual = ((-1, int(s), float(o)) for s, o in zip(sources, offsets, strict=True))
    graph.add_weighted_edges_from(virtual, weight="length")
    t0 = time.perf_counter()
    ref = nx.multi_source_dijkstra_path_length(graph, {-1}, weight="length")
    nx_s = time.perf_counter() - t0
    ref_arr = np.array([ref.get(i, np.inf) for i in range(n)])
    both = np.isfinite(ref_arr) & np.isfinite(dist)
    max_diff = float(np.abs(ref_arr[both] - dist[both]).max())
    same_reach = bool(np.array_equal(np.isfinite(ref_arr), np.isfinite(dist)))

    result = {
        "nodes": n,
        "edges": int(len(u)),
        "sources": int(args.parks),
        "csgraph_build_s": round(build_s, 4),
        "ours_s_best": round(min(ours), 4),
        "ours_s_median": round(float(np.median(ours)), 4),
        "networkx_s": round(nx_s, 4),
        "speedup": round(nx_s / min(ours), 1),
        "max_abs_diff_m": max_diff,
        "same_reachable_nodes": same_reach,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    for key, value in result.items():
        print(f"{key:>16}: {value}")
    folder = os.path.dirname(os.path.abspath(args.out))
    with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".tmp") as f:
        json.dump(result, f, indent=2)
    os.replace(f.name, args.out)


if __name__ == "__main__":
    main()
