"""The ground truth, kept apart from the landing folder and never read by the pipeline: every true
stay expanded to every zone that contains its position, and every subscriber's true attributes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from footfall.synthetic.days import plan_day
from footfall.synthetic.vocabulary import ANCHOR_NONE, STAY_TYPES
from footfall.synthetic.world import Day, World


def _zone_tree(w: World) -> Any:
    """The STRtree of all zones (prepared), built once per World object (not pickled)."""
    tree = w.__dict__.get("_tree")
    if tree is None:
        shapely.prepare(w.zone_geom)
        tree = w.__dict__["_tree"] = shapely.STRtree(w.zone_geom)
    return tree


def zones_containing(w: World, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(point index, zone index) pairs for every zone that contains a point (boundary excluded),
    sorted by point then zone; each distinct position is tested once."""
    xy = np.column_stack([lon, lat])
    uniq, inverse = np.unique(xy, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    cand_p, cand_z = _zone_tree(w).query(shapely.points(uniq[:, 0], uniq[:, 1]))
    hit = shapely.contains_xy(w.zone_geom[cand_z], uniq[cand_p, 0], uniq[cand_p, 1])
    up, uz = cand_p[hit], cand_z[hit]
    # expand distinct positions back to the input points
    order = np.argsort(up, kind="stable")
    up, uz = up[order], uz[order]
    starts = np.searchsorted(up, np.arange(len(uniq)))
    counts = np.searchsorted(up, np.arange(len(uniq)), side="right") - starts
    per_point = counts[inverse]
    point_i = np.repeat(np.arange(len(lon)), per_point)
    first = np.repeat(starts[inverse], per_point)
    offset = np.arange(len(point_i)) - np.repeat(np.cumsum(per_point) - per_point, per_point)
    zone_i = uz[first + offset]
    o = np.lexsort((zone_i, point_i))
    return point_i[o], zone_i[o]


TRUTH_SCHEMA = pa.schema([
    ("msisdn", pa.string()), ("event_date", pa.date32()), ("zone_set", pa.string()), ("zone_id", pa.string()),
    ("start", pa.timestamp("us", tz="UTC")), ("end", pa.timestamp("us", tz="UTC")),
    ("stay_type", pa.string()), ("poi_osm_id", pa.string()), ("lon", pa.float64()), ("lat", pa.float64()),
])


TRUTH_DDL = ("msisdn string, event_date date, zone_set string, zone_id string, `start` timestamp, `end` timestamp, "
             "stay_type string, poi_osm_id string, lon double, lat double")


def truth_chunk(w: World, day: Day, subs: Sequence[int]) -> pa.RecordBatch:
    """Every true stay of the chunk's subscribers on `day`, once per zone containing its position."""
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("sub", "start", "end", "lon", "lat", "kind", "poi")}
    for s in subs:
        st = plan_day(w, s, day)
        cols["sub"].append(np.full(len(st.start), s, np.int64))
        for k in ("start", "end", "lon", "lat", "kind", "poi"):
            cols[k].append(getattr(st, k))
    if not cols["sub"]:
        return pa.RecordBatch.from_pylist([], schema=TRUTH_SCHEMA)
    a = {k: np.concatenate(v) for k, v in cols.items()}
    stay_i, zone_i = zones_containing(w, a["lon"], a["lat"])
    sub = a["sub"][stay_i]
    poi = a["poi"][stay_i]
    to_ts = pa.timestamp("us", tz="UTC")
    return pa.RecordBatch.from_arrays([
        pc.cast(pa.array(w.msisdn[sub]), pa.string()),
        pa.array(np.full(len(sub), day.ordinal - dt.date(1970, 1, 1).toordinal(), np.int32), pa.date32()),
        pa.array(w.zone_set[zone_i]), pa.array(w.zone_id[zone_i]),
        pa.array((day.start_utc + a["start"][stay_i]) * 1_000_000, pa.int64()).cast(to_ts),
        pa.array((day.start_utc + a["end"][stay_i]) * 1_000_000, pa.int64()).cast(to_ts),
        pa.array(np.asarray(STAY_TYPES)[a["kind"][stay_i]]),
        pa.array(w.poi_osm[np.maximum(poi, 0)], pa.string(), mask=poi < 0),
        pa.array(a["lon"][stay_i]), pa.array(a["lat"][stay_i]),
    ], schema=TRUTH_SCHEMA)


def truth_subscribers(subs: pd.DataFrame) -> pd.DataFrame:
    t = subs[["msisdn", "kind", "district_id", "locality_id", "true_age", "true_gender", "crm_birth_date",
              "crm_gender", "opted_out", "anchor_type", "home_lon", "home_lat", "anchor_lon", "anchor_lat"]].copy()
    t["msisdn"] = t["msisdn"].astype(str)
    t["true_age"] = t["true_age"].astype(int)
    t["anchor_type"] = np.asarray(STAY_TYPES, dtype=object)[t["anchor_type"].to_numpy()]
    t.loc[subs["anchor_type"].to_numpy() == ANCHOR_NONE, "anchor_type"] = ""
    return t
