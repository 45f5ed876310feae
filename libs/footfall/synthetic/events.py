"""Network events of one chunk (= one landing file) of one day: event times, true and measured
positions, serving cells, event types, the injected faults and the file's content.

Each (subscriber, day) draws from its own generator seeded with (seed, STREAM_EVENTS, subscriber,
date); the draws happen in a fixed order, so the same seed gives byte-identical files."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from footfall.synthetic import network
from footfall.synthetic.days import plan_day, positions_at
from footfall.synthetic.vocabulary import (
    CLASSIFICATION_ORDER,
    EVENT_COLUMNS,
    EVENT_HEADER,
    EVENT_TYPES,
    ROW_FAULTS,
    STREAM_EVENTS,
)
from footfall.synthetic.world import Day, World

CELL_ONLY_SHARE = 0.10  # rows without a measured position

# Relative intensity of event bursts per local (elapsed) hour, 25 values for the DST fall-back day.
PROFILE = {
    "weekday": np.array([0.25, 0.15, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.2, 1.1, 1.0, 1.0, 1.1, 1.0, 1.0, 1.0,
                         1.1, 1.2, 1.3, 1.3, 1.2, 1.0, 0.8, 0.5, 0.3]),
    "weekend": np.array([0.4, 0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 0.7, 0.9, 1.1, 1.2, 1.2, 1.2, 1.2, 1.2,
                         1.2, 1.2, 1.2, 1.3, 1.3, 1.1, 0.9, 0.6, 0.4]),
}
BURST_MEAN = 4.0  # events per burst
BURST_GAP_S = 25.0  # mean seconds between events of a burst
ACCURACY_CLASSES = ((0.45, 5, 20), (0.80, 20, 50), (1.0, 50, 100))  # (cum share, min m, max m)
ACCURACY_SIGMA = 1.515  # accuracy_m is the 68% radius: sigma per axis = accuracy / sqrt(2 ln(1/0.32))


def event_times(rng: np.random.Generator, mean: float, length: int, profile: np.ndarray) -> np.ndarray:
    """Strictly increasing whole seconds in [0, length): Poisson(mean) events in bursts of about
    BURST_MEAN events BURST_GAP_S apart, burst starts following the hourly `profile`."""
    n = int(rng.poisson(mean))
    if n == 0:
        return np.empty(0, np.int64)
    hours = math.ceil(length / 3600)
    w = profile[:hours].copy()
    w[-1] *= (length - (hours - 1) * 3600) / 3600
    cum = np.cumsum(w) / w.sum()
    n_b = max(1, round(n / BURST_MEAN))
    hour = np.minimum(np.searchsorted(cum, rng.random(n_b), side="right"), hours - 1)
    centre = hour * 3600 + rng.random(n_b) * 3600
    b = np.sort(rng.integers(0, n_b, n))
    gaps = rng.exponential(BURST_GAP_S, n)
    first = np.empty(n, bool)
    first[0] = True
    np.not_equal(b[1:], b[:-1], out=first[1:])
    gaps[first] = 0.0
    cs = np.cumsum(gaps)
    group_start = np.maximum.accumulate(np.where(first, cs, 0.0))
    t = np.sort((centre[b] + cs - group_start).astype(np.int64))
    t = np.minimum(t, length - 1)
    i = np.arange(len(t))
    t = np.maximum.accumulate(t - i) + i  # strictly increasing seconds
    return t[t < length]


def _device_times(rng: np.random.Generator, mean: float, length: int) -> np.ndarray:
    """A stationary device: heartbeats every length/mean seconds with a little jitter."""
    n = max(1, round(mean))
    step = length / n
    t = (rng.random() * step + np.arange(n) * step + rng.uniform(-20, 20, n)).astype(np.int64)
    t = np.clip(np.sort(t), 0, length - 1)
    i = np.arange(len(t))
    t = np.maximum.accumulate(t - i) + i
    return t[t < length]


@dataclass
class ChunkEvents:
    """One chunk's rows before formatting, in generation order (by subscriber, then time)."""

    sub: np.ndarray  # subscriber index
    t: np.ndarray  # elapsed seconds since local midnight
    lon: np.ndarray  # true position
    lat: np.ndarray
    moving: np.ndarray
    u: np.ndarray  # (n, 8) uniforms from the subscriber's event stream
    z: np.ndarray  # (n, 2) standard normals


def simulate_chunk(w: World, day: Day, subs: Sequence[int]) -> ChunkEvents:
    parts: list[tuple[np.ndarray, ...]] = []
    profile = PROFILE["weekday" if day.weekday < 5 else "weekend"]
    for s in subs:
        stays = plan_day(w, s, day)
        rng = np.random.default_rng([w.seed, STREAM_EVENTS, s, day.ordinal])
        if w.is_m2m[s] and not w.m2m_vehicle[s]:
            t = _device_times(rng, w.events_mean / 2 * float(w.activity[s]), day.length_s)
        else:
            t = event_times(rng, w.events_mean * float(w.activity[s]), day.length_s, profile)
        lon, lat, moving = positions_at(stays, t)
        parts.append((np.full(len(t), s, np.int64), t, lon, lat, moving, rng.random((len(t), 8)),
                      rng.standard_normal((len(t), 2))))
    cols = [np.concatenate([p[i] for p in parts]) for i in range(7)]
    return ChunkEvents(*cols)


@dataclass
class Rows:
    """Formatted landing rows of one chunk plus what was injected where."""

    fields: dict[str, pa.Array]  # the seven landing columns as strings (null = empty)
    order: np.ndarray  # row indices in file order (duplicates repeated)
    fault: np.ndarray  # per generated row: index into ROW_FAULTS or -1
    category: np.ndarray  # per generated row: index into CLASSIFICATION_ORDER
    replaced_lines: dict[int, str]  # row -> replacement line (malformed and shifted rows, CSV only)


def _fmt_float(x: np.ndarray, digits: int, valid: np.ndarray) -> pa.Array:
    arr = pa.array(np.round(x, digits), mask=~valid)
    return pc.cast(arr, pa.string())


def iso_utc(epoch_s: np.ndarray) -> pa.Array:
    """Epoch seconds as ISO-8601 UTC strings like 2026-03-14T07:03:12Z (Arrow cast: fast)."""
    text = pc.cast(pa.array(np.asarray(epoch_s, np.int64).astype("datetime64[s]")), pa.string())
    return pc.binary_join_element_wise(pc.replace_substring(text, " ", "T"), pa.scalar("Z"), "")


def format_chunk(w: World, day: Day, ev: ChunkEvents) -> Rows:
    """Measurement noise, serving cell, event type and faults for every row of the chunk."""
    n = len(ev.t)
    u = ev.u
    is_device = w.is_m2m[ev.sub] & ~w.m2m_vehicle[ev.sub]
    measured = u[:, 0] >= np.where(is_device, 0.8, CELL_ONLY_SHARE)
    cls = np.searchsorted([c[0] for c in ACCURACY_CLASSES], u[:, 1], side="right").clip(0, 2)
    lo = np.array([c[1] for c in ACCURACY_CLASSES])[cls]
    hi = np.array([c[2] for c in ACCURACY_CLASSES])[cls]
    acc = np.round(lo + (hi - lo) * u[:, 2])
    sigma = acc / ACCURACY_SIGMA
    m_lon, m_lat = network.metres_per_degree(ev.lat)
    obs_lon = ev.lon + ev.z[:, 0] * sigma / m_lon
    obs_lat = ev.lat + ev.z[:, 1] * sigma / m_lat
    cell = w.plan.serving_cells(ev.lon, ev.lat, u[:, 3])
    night = ev.t < 6 * 3600
    u4 = u[:, 4]
    travel_type = np.array([3, 0, 1, 2])[np.searchsorted([0.45, 0.9, 0.95], u4, side="right")]
    night_type = np.array([4, 0, 2])[np.searchsorted([0.5, 0.95], u4, side="right")]
    day_type = np.array([0, 1, 2, 4])[np.searchsorted([0.75, 0.85, 0.93], u4, side="right")]
    etype = np.where(ev.moving, travel_type, np.where(night, night_type, day_type))
    etype = np.where(is_device, np.where(u[:, 4] < 0.7, 0, 4), etype)

    # Who the row belongs to, as the pipeline would see it.
    opted = w.opted_out[ev.sub]
    m2m = w.is_m2m[ev.sub]
    minor = w.under_18(ev.sub, day)
    category = np.full(n, CLASSIFICATION_ORDER.index("clean"), np.int8)
    category[minor] = CLASSIFICATION_ORDER.index("under_18")
    category[m2m] = CLASSIFICATION_ORDER.index("m2m")
    category[opted] = CLASSIFICATION_ORDER.index("opted_out")
    eligible = ~(opted | m2m | minor)
    fault = np.full(n, -1, np.int8)
    rates = np.array([w.row_faults.get(f, 0.0) for f in ROW_FAULTS])
    if rates.sum() > 0:
        f = np.searchsorted(np.cumsum(rates), u[:, 5], side="right")
        hit = eligible & (f < len(ROW_FAULTS))
        fault[hit] = f[hit]
        category[hit] = f[hit]

    abs_t = day.start_utc + ev.t
    fields = {
        "msisdn": pc.cast(pa.array(w.msisdn[ev.sub]), pa.string()),
        "event_time": iso_utc(abs_t),
        "cell_id": pa.array(w.plan.cell_id[cell], pa.string()),
        "event_type": pa.array(np.asarray(EVENT_TYPES, dtype=object)[etype], pa.string()),
        "lon": _fmt_float(obs_lon, 6, measured),
        "lat": _fmt_float(obs_lat, 6, measured),
        "accuracy_m": pc.cast(pa.array(acc.astype(np.int64), mask=~measured), pa.string()),
    }
    replaced = _inject(w, day, ev, fields, fault, measured, abs_t)
    dup = fault == list(ROW_FAULTS).index("duplicate")
    order = np.lexsort((ev.sub, abs_t))
    order = np.repeat(order, np.where(dup[order], 2, 1))
    return Rows(fields, order, fault, category, replaced)


def imsi(msisdn: int) -> str:
    """The SIM's IMSI (MCC 262, MNC 07, 10-digit MSIN), derived from its msisdn: the same SIM
    always has the same IMSI, for a given seed."""
    return f"26207{(msisdn * 2_654_435_761 + 40_503) % 10**10:010d}"


def _broken_line(kind: str, rec: dict[str, str | None], v6: float, v7: float, sim_imsi: str) -> str:
    """The line of a malformed row (cut, `;`-separated or an extra field, by v6) or of a shifted
    one (the SIM's IMSI first: every field one to the right)."""
    line = ",".join("" if rec[k] is None else str(rec[k]) for k in EVENT_COLUMNS)
    if kind == "shifted_columns":
        return f"{sim_imsi},{line}"
    if v6 < 0.4:  # cut: at most 5 fields
        commas = [i for i, ch in enumerate(line) if ch == ","]
        return line[: max(5, int(commas[4] * (0.3 + 0.7 * v7)))]
    if v6 < 0.7:
        return line.replace(",", ";")
    return line + ",extra"


def _inject(w: World, day: Day, ev: ChunkEvents, fields: dict[str, pa.Array], fault: np.ndarray,
            measured: np.ndarray, abs_t: np.ndarray) -> dict[int, str]:
    """Apply the row faults in place (Python on the few faulty rows); returns the replacement lines
    of malformed and shifted rows."""
    rows = np.flatnonzero(fault >= 0)
    if len(rows) == 0:
        return {}
    names = list(ROW_FAULTS)
    vals = {k: pc.take(v, pa.array(rows)).to_pylist() for k, v in fields.items()}
    u = ev.u[rows]
    malformed: dict[int, str] = {}
    for j, r in enumerate(rows):
        kind = names[fault[r]]
        v6, v7 = float(u[j, 6]), float(u[j, 7])
        rec = {k: vals[k][j] for k in EVENT_COLUMNS}
        if kind in ("malformed", "shifted_columns"):
            malformed[int(r)] = _broken_line(kind, rec, v6, v7, imsi(int(w.msisdn[ev.sub[r]])))
        elif kind == "missing_field":
            opts = ["msisdn", "event_time", "cell_id", "event_type"]
            if measured[r]:
                opts += ["lon", "lat", "accuracy_m"]
            rec[opts[int(v6 * len(opts))]] = None
        elif kind == "bad_timestamp":
            ts = dt.datetime.fromtimestamp(int(abs_t[r]), dt.UTC)
            if v6 < 0.4:
                rec["event_time"] = ts.strftime("%d.%m.%Y %H:%M:%S")
            elif v6 < 0.7:
                rec["event_time"] = ts.strftime("%Y-13-%dT%H:%M:%SZ")
            else:
                rec["event_time"] = str(int(abs_t[r]) * 1000)
        elif kind == "outside_day":
            shift = 2 * 86400 if v6 < 0.5 else -2 * 86400
            rec["event_time"] = dt.datetime.fromtimestamp(int(abs_t[r]) + shift, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        elif kind == "bad_coordinates":
            lon, lat = float(w.home_lon[ev.sub[r]]), float(w.home_lat[ev.sub[r]])
            variants = (("NaN", "NaN"), ("0.0", "0.0"), (f"{lat:.6f}", f"{lon:.6f}"), ("11.575382", "48.137108"))
            rec["lon"], rec["lat"] = variants[int(v6 * 4)]
            if rec["accuracy_m"] is None:
                rec["accuracy_m"] = "50"
        elif kind == "unknown_cell":
            rec["cell_id"] = network.unknown_cell_id(int(v7 * 1e6))
        elif kind == "unknown_msisdn":
            rec["msisdn"] = str(int(w.ghost_msisdn[ev.sub[r]]))
        for k in EVENT_COLUMNS:
            vals[k][j] = rec[k]
    mask = np.zeros(len(fault), bool)
    mask[rows] = True
    for k in EVENT_COLUMNS:
        fields[k] = pc.replace_with_mask(fields[k], pa.array(mask), pa.array(vals[k], pa.string()))
    return malformed


def chunk_output(w: World, day: Day, c: int) -> tuple[pa.RecordBatch, dict[str, int]]:
    """The file content of chunk `c` of `day` as one record batch, and its counts."""
    ev = simulate_chunk(w, day, w.chunk(c))
    rows = format_chunk(w, day, ev)
    order = pa.array(rows.order)
    if w.fmt == "csv":
        line = pc.binary_join_element_wise(*(rows.fields[k] for k in EVENT_COLUMNS), ",",
                                           null_handling="replace", null_replacement="")
        if rows.replaced_lines:
            mask = np.zeros(len(line), bool)
            idx = sorted(rows.replaced_lines)
            mask[idx] = True
            line = pc.replace_with_mask(line, pa.array(mask), pa.array([rows.replaced_lines[i] for i in idx]))
        body = pc.take(line, order)
        batch = pa.RecordBatch.from_arrays([pa.concat_arrays([pa.array([EVENT_HEADER]), body])], names=["value"])
    else:
        batch = pa.RecordBatch.from_arrays([pc.take(rows.fields[k], order) for k in EVENT_COLUMNS],
                                           names=list(EVENT_COLUMNS))
    counts = {name: int((rows.category == i).sum()) for i, name in enumerate(CLASSIFICATION_ORDER)}
    # A duplicated row is written twice: the first copy is clean, the second counts as duplicate.
    counts["clean"] += int((rows.fault == list(ROW_FAULTS).index("duplicate")).sum())
    counts["rows"] = len(rows.order)
    return batch, counts
