"""The benchmark harness's stage 1 on a tiny hand-made day: every system gives the same counts,
a wrong count is caught, and the process-tree monitor sees a child's CPU.

Runs the systems in-process on the shared test session (the harness itself starts one process
per system, which is too slow for a test); `make bench SIZE=XS` is the end-to-end smoke run.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from bench import systems
from bench.measure import TreeMonitor
from bench.run import check_counts
from footfall.schemas import C

# Two overlapping squares and a triangle; points inside, on an edge, on a shared edge, outside.
ZONES = [
    ("a", "POLYGON((13.30 52.40, 13.40 52.40, 13.40 52.50, 13.30 52.50, 13.30 52.40))"),
    ("b", "POLYGON((13.35 52.45, 13.45 52.45, 13.45 52.55, 13.35 52.55, 13.35 52.45))"),
    ("c", "POLYGON((13.40 52.40, 13.50 52.40, 13.45 52.45, 13.40 52.40))"),
]


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], str, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("bench")
    rng = np.random.default_rng(7)
    n = 3000
    lon = rng.uniform(13.28, 13.52, n)
    lat = rng.uniform(52.38, 52.57, n)
    # exactly on edges and a vertex: ST_Intersects counts them for every zone they touch
    lon[:4], lat[:4] = [13.30, 13.40, 13.40, 13.35], [52.45, 52.42, 52.40, 52.45]
    start = dt.datetime(2026, 3, 13, 23, 0, tzinfo=dt.UTC)
    times = [start + dt.timedelta(seconds=int(s)) for s in rng.integers(0, 24 * 3600, n)]
    table = pa.table({C.PSEUDO_ID: [f"p{i % 50}" for i in range(n)],
                      C.EVENT_TIME: pa.array(times, pa.timestamp("us", tz="UTC")), C.LON: lon, C.LAT: lat})
    files = []
    for i, part in enumerate((table.slice(0, 1000), table.slice(1000))):
        files.append(str(folder / f"part-{i}.parquet"))
        pq.write_table(part, files[-1])
    zones = pa.table({C.ZONE_SET: ["test"] * 3, C.ZONE_ID: [z for z, _ in ZONES],
                      C.GEOMETRY: [shapely.to_wkb(shapely.from_wkt(w)) for _, w in ZONES]})
    zones_file = str(folder / "zones.parquet")
    pq.write_table(zones, zones_file)
    # The expected counts, by shapely directly.
    shapes = {z: shapely.from_wkt(w) for z, w in ZONES}
    rows = [(z, int(t.timestamp()) // 3600) for x, y, t in zip(lon, lat, times, strict=True)
            for z, s in shapes.items() if s.intersects(shapely.Point(x, y))]
    expected = pd.DataFrame(rows, columns=["zone_id", "hour"]).value_counts().rename("n").reset_index()
    return files, zones_file, expected.sort_values(["zone_id", "hour"]).reset_index(drop=True)


@pytest.mark.parametrize("system", systems.SPARK_SYSTEMS)
def test_spark_systems_count_like_shapely(spark, day, system: str) -> None:
    files, zones_file, expected = day
    counts, operator = systems.spark_counts(spark, files, zones_file, "test", system)
    assert check_counts(system, counts, expected) is None
    assert int(counts["n"].sum()) == int(expected["n"].sum())
    want = {"footfall_cover": "BroadcastHashJoin", "sedona_broadcast": "BroadcastIndexJoin",
            "sedona_partitioned": "RangeJoin", "naive_udf": "BatchEvalPython"}[system]
    assert want in operator.split(",")


@pytest.mark.parametrize("system", ["duckdb", "sedonadb"])
def test_native_systems_count_like_shapely(day, system: str) -> None:
    files, zones_file, expected = day
    run = systems.duckdb_counts if system == "duckdb" else systems.sedonadb_counts
    counts, operator = run(files, zones_file, "test", 2)
    assert check_counts(system, counts, expected) is None
    assert operator.startswith({"duckdb": "SPATIAL_JOIN", "sedonadb": "SpatialJoinExec"}[system])


def test_the_day_has_points_on_edges_and_vertices() -> None:
    # The fixture's first four points: on a's west edge; on a's east edge; a's corner = c's
    # vertex; inside a and b's corner. A system that drops boundary points misses pairs above.
    shapes = {z: shapely.from_wkt(w) for z, w in ZONES}
    points = [(13.30, 52.45), (13.40, 52.42), (13.40, 52.40), (13.35, 52.45)]
    hits = [sorted(z for z, s in shapes.items() if s.intersects(shapely.Point(x, y))) for x, y in points]
    assert hits == [["a"], ["a"], ["a", "c"], ["a", "b"]]
    assert not any(s.contains(shapely.Point(13.40, 52.40)) for s in shapes.values())


def test_check_counts_reports_a_difference() -> None:
    want = pd.DataFrame({"zone_id": ["a", "a"], "hour": [1, 2], "n": [5, 7]})
    assert check_counts("same", want.copy(), want) is None
    wrong = want.assign(n=[5, 8])
    problem = check_counts("wrong", wrong, want)
    assert problem is not None and "1 (zone, hour) cells differ" in problem
    missing = want.iloc[:1]
    assert "1 (zone, hour) cells differ" in (check_counts("missing", missing, want) or "")


def test_monitor_counts_a_child_process_cpu_and_memory() -> None:
    """A child burns 0.6 s of CPU, then holds 256 MiB for 0.5 s while the monitor samples every
    0.05 s."""
    held = 256 * 2**20
    before = psutil.Process().memory_info().rss  # this process alone, before the child
    t0 = time.perf_counter()
    monitor = TreeMonitor(interval=0.05).start()
    child = ("import time\nt=time.process_time()\nwhile time.process_time()-t<0.6: pass\n"
             f"held=b'x' * {held}\ntime.sleep(0.5)")
    subprocess.run([sys.executable, "-c", child], check=True)
    m = monitor.stop()
    wall = time.perf_counter() - t0
    assert 1.1 <= m.wall_s <= wall
    # the child's 0.6 s at least; at most what the machine's cores can give in the wall time
    # (CPU the tree spent before start(), minutes of it in the test JVM, is not counted)
    assert 0.6 <= m.cpu_s <= m.wall_s * psutil.cpu_count()
    # a sample while the child held its bytes: this process and the child's 256 MiB at least
    assert m.peak_rss_bytes >= before + held
    assert m.processes_seen >= 2  # this process and the child
    # the results file of `make bench` is this record as JSON
    assert json.loads(json.dumps(m.__dict__)) == m.__dict__
