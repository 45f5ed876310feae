"""The metrics of the accuracy benchmark: pure pandas/numpy/shapely, no Spark (docs/accuracy.md).

Every function works on one zone set. Times are tz-naive UTC `datetime64`; `pseudo_id` links a
visit to the true stays of the same person.

- visits: zone_id, pseudo_id, visit_start, visit_end, dwell_s, is_passby (restricted.visits);
- truth: zone_id, pseudo_id, start, end, dur_s: the true stays of included subscribers whose
  true position lies in the zone (truth/visits), plus `observed` where recovery needs it;
- events: pseudo_id, event_time: the accepted events (restricted.events);
- path: pseudo_id, start, end, lon, lat: each person's distinct true stays (the true trajectory;
  straight lines at constant speed in between, docs/generator.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

BANDS_MIN = (0, 5, 15, 60, 240, np.inf)
BAND_NAMES = ("<5", "5-15", "15-60", "60-240", "240+")
HIST_EDGES_MIN = (0, 5, 15, 60, np.inf)
HIST_NAMES = ("lt5", "5_15", "15_60", "60plus")
_KEY = ["zone_id", "pseudo_id"]


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None or pd.isna(x) else round(float(x), digits)


def _seconds(t: pd.Series) -> np.ndarray:
    return t.to_numpy().astype("datetime64[s]").astype(np.int64)


# -- presence per zone and hour ------------------------------------------------------------------


def explode_hours(df: pd.DataFrame, start: str, end: str, day_start: pd.Timestamp, n_hours: int,
                  closed_end: bool) -> pd.DataFrame:
    """(zone_id, pseudo_id, hour) per row of df and local hour index (0 .. n_hours-1) it overlaps.

    closed_end=True is the pipeline's rule for visits (h_start <= end and h_end > start: a visit
    ending at 11:00:00 is in hour 11); False is the rule for true stays, overlap of positive
    length (h_start < end and h_end > start)."""
    a = (df[start] - day_start).dt.total_seconds().to_numpy() / 3600.0
    b = (df[end] - day_start).dt.total_seconds().to_numpy() / 3600.0
    first = np.floor(a).astype(int)
    last = np.maximum(np.floor(b).astype(int), first) if closed_end else np.ceil(b).astype(int) - 1
    first = np.clip(first, 0, n_hours - 1)
    last = np.clip(last, -1, n_hours - 1)
    n = np.maximum(last - first + 1, 0)
    idx = np.repeat(np.arange(len(df)), n)
    offset = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    out = df.iloc[idx][_KEY].reset_index(drop=True)
    out["hour"] = first[idx] + offset
    return out


def presence_cells(visits: pd.DataFrame, truth: pd.DataFrame, day_start: pd.Timestamp, n_hours: int) -> pd.DataFrame:
    """Per zone and hour: P = distinct people truly present, V = distinct visitors (pass-bys
    included, before disclosure control), ratio = V / P (NaN where P = 0)."""
    tv = explode_hours(truth, "start", "end", day_start, n_hours, closed_end=False).drop_duplicates()
    vv = explode_hours(visits, "visit_start", "visit_end", day_start, n_hours, closed_end=True).drop_duplicates()
    p = tv.groupby(["zone_id", "hour"]).size().rename("P")
    v = vv.groupby(["zone_id", "hour"]).size().rename("V")
    cells = pd.concat([p, v], axis=1).fillna(0).astype(int).reset_index()
    cells["ratio"] = cells["V"] / cells["P"].where(cells["P"] > 0)
    return cells


def presence_summary(cells: pd.DataFrame, n_hours: int, min_population: int = 20) -> dict:
    """V/P over the cells with P >= min_population, and the zone set's sums per hour."""
    big = cells.loc[cells["P"] >= min_population, "ratio"]
    hours = cells.groupby("hour")[["P", "V"]].sum().reindex(range(n_hours), fill_value=0)
    by_hour = hours["V"] / hours["P"].where(hours["P"] > 0)
    has = len(big) > 0
    return {
        "min_population": min_population,
        "cells_evaluated": len(big),
        "cell_ratio_min": _r(big.min()) if has else None,
        "cell_ratio_p05": _r(big.quantile(0.05)) if has else None,
        "cell_ratio_median": _r(big.median()) if has else None,
        "cell_ratio_p95": _r(big.quantile(0.95)) if has else None,
        "cell_ratio_max": _r(big.max()) if has else None,
        "share_cells_within_10pct": _r(((big - 1).abs() <= 0.10 + 1e-12).mean()) if has else None,
        "share_cells_within_15pct": _r(((big - 1).abs() <= 0.15 + 1e-12).mean()) if has else None,
        "set_sum_ratio_min": _r(by_hour.min()),
        "set_sum_ratio_max": _r(by_hour.max()),
        "set_sum_ratio_by_hour": [_r(x, 3) for x in by_hour],
        "present_by_hour": [int(x) for x in hours["P"]],
    }


# -- matching visits to true stays ---------------------------------------------------------------


def _pairs(visits: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Every (visit, true stay) pair of the same person and zone that overlaps (closed intervals:
    touching or holding an instant counts), with overlap_s and `covers`."""
    cols = ["vidx", *_KEY, "visit_start", "visit_end", "dwell_s"]
    pairs = visits[cols].merge(truth[["tidx", *_KEY, "start", "end"]], on=_KEY, how="inner")
    lo = np.maximum(pairs["visit_start"].to_numpy(), pairs["start"].to_numpy())
    hi = np.minimum(pairs["visit_end"].to_numpy(), pairs["end"].to_numpy())
    pairs["overlap_s"] = (hi - lo) / np.timedelta64(1, "s")
    pairs = pairs[pairs["overlap_s"] >= 0].copy()
    shorter = np.minimum((pairs["end"] - pairs["start"]).dt.total_seconds(),
                         (pairs["visit_end"] - pairs["visit_start"]).dt.total_seconds())
    pairs["covers"] = pairs["overlap_s"] >= 0.5 * shorter
    return pairs


def match_visits(visits: pd.DataFrame, truth: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A visit *covers* a true stay of the same person and zone when their overlap is at least
    half of the shorter of the two. Returns the visits with `touches_truth` (overlaps some true
    stay) and `tidx` (the stay it overlaps longest, ties: the earliest), and the true stays with
    `n_overlap` (covering visits), `dwell_overlap_s` (their dwell), `n_matched` (visits whose
    longest overlap it is) and `dwell_matched_s`."""
    v = visits.reset_index(drop=True).assign(vidx=lambda d: np.arange(len(d)))
    tr = truth.reset_index(drop=True).assign(tidx=lambda d: np.arange(len(d)))
    pairs = _pairs(v, tr)
    best = pairs.sort_values(["vidx", "overlap_s", "start"], ascending=[True, False, True]).drop_duplicates("vidx")
    v = v.merge(best[["vidx", "tidx", "overlap_s"]], on="vidx", how="left")
    v["touches_truth"] = v["tidx"].notna()
    cov = pairs[pairs["covers"]]
    matched = v[v["touches_truth"]]
    tr["n_overlap"] = tr["tidx"].map(cov.groupby("tidx").size()).fillna(0).astype(int)
    tr["dwell_overlap_s"] = tr["tidx"].map(cov.groupby("tidx")["dwell_s"].sum()).fillna(0.0)
    tr["n_matched"] = tr["tidx"].map(matched.groupby("tidx").size()).fillna(0).astype(int)
    tr["dwell_matched_s"] = tr["tidx"].map(matched.groupby("tidx")["dwell_s"].sum()).fillna(0.0)
    return v, tr


def observed_mask(truth: pd.DataFrame, events: pd.DataFrame) -> np.ndarray:
    """Whether the person has at least one accepted event in [start, end] of the true stay."""
    codes = pd.Index(events["pseudo_id"].unique())
    key = np.sort(codes.get_indexer(events["pseudo_id"]).astype(np.int64) * 10**10 + _seconds(events["event_time"]))
    person = codes.get_indexer(truth["pseudo_id"]).astype(np.int64)
    n = (np.searchsorted(key, person * 10**10 + _seconds(truth["end"]), "right")
         - np.searchsorted(key, person * 10**10 + _seconds(truth["start"]), "left"))
    return (person >= 0) & (n > 0)


# -- recovery, dwell, phantoms -------------------------------------------------------------------


def _shares(b: pd.DataFrame, den: str) -> dict:
    n = max(len(b), 1)
    return {f"recovered_{den}": _r((b["n_overlap"] >= 1).sum() / n),
            f"one_visit_{den}": _r((b["n_overlap"] == 1).sum() / n),
            f"split_{den}": _r((b["n_overlap"] >= 2).sum() / n),
            f"one_to_one_{den}": _r((b["n_matched"] == 1).sum() / n)}


def _dwell(one: pd.DataFrame) -> dict:
    """Dwell accuracy over stays recovered as one visit (R1): the visit's dwell vs the duration."""
    if not len(one):
        return {"dwell_ratio_median": None}
    ratio = one["dwell_overlap_s"] / one["dur_s"]
    return {"dwell_ratio_median": _r(ratio.median(), 3),
            "dwell_abs_err_median_min": _r(((one["dwell_overlap_s"] - one["dur_s"]).abs() / 60).median(), 1),
            "recovered_dwell_median_min": _r(one["dwell_overlap_s"].median() / 60, 1),
            "true_dur_median_min_same_stays": _r(one["dur_s"].median() / 60, 1)}


def band_metrics(b: pd.DataFrame) -> dict:
    """Recovery of the true stays `b` (one length band) over all of them and over the observed."""
    obs = b[b["observed"]]
    row = {"true_stays": len(b), "observed": len(obs), **_shares(b, "all"), **_shares(obs, "obs")}
    row["merged_obs"] = _r(((obs["n_matched"] == 0) & (obs["n_overlap"] >= 1)).sum() / max(len(obs), 1))
    row.update(_dwell(b[b["n_overlap"] == 1]))
    return row


def recovery_metrics(tr: pd.DataFrame) -> dict:
    """band_metrics per length band (minutes, [lo, hi)), for 15+ minutes and for all stays."""
    dur_min = tr["dur_s"] / 60
    band = pd.cut(dur_min, BANDS_MIN, right=False, labels=BAND_NAMES)
    out = {name: band_metrics(tr[(band == name).to_numpy()]) for name in BAND_NAMES}
    out["15+"] = band_metrics(tr[(dur_min >= 15).to_numpy()])
    out["all"] = band_metrics(tr)
    return out


def visit_metrics(v: pd.DataFrame) -> dict:
    """Phantoms: visits that are not pass-bys and overlap no true stay of the person in the zone."""
    stays = v[~v["is_passby"]]
    return {"visits": len(v), "passby_visits": int(v["is_passby"].sum()),
            "visits_lt5min_share": _r((v["dwell_s"] < 300).mean()) if len(v) else None,
            "phantoms": int((~stays["touches_truth"]).sum()),
            "phantom_share": _r((~stays["touches_truth"]).mean()) if len(stays) else None}


# -- pass-by precision ---------------------------------------------------------------------------


def true_paths(visits: pd.DataFrame, path: pd.DataFrame) -> np.ndarray:
    """Per visit, the person's true path during [visit_start, visit_end] as a line (lon/lat): the
    positions at both ends (at a stay, or interpolated between two stays) and every stay that
    starts in between. None where the person has no true stay at or before visit_start."""
    codes = pd.Index(path["pseudo_id"].unique())
    pp = codes.get_indexer(path["pseudo_id"]).astype(np.int64)
    key = pp * 10**10 + _seconds(path["start"])
    o = np.argsort(key, kind="stable")
    key, pp, ps, pe = key[o], pp[o], _seconds(path["start"])[o], _seconds(path["end"])[o]
    lon, lat = path["lon"].to_numpy()[o], path["lat"].to_numpy()[o]

    def position(person: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k = np.searchsorted(key, person * 10**10 + t, "right") - 1
        ok = (k >= 0) & (pp[np.maximum(k, 0)] == person)
        k = np.maximum(k, 0)
        nxt = np.minimum(k + 1, len(key) - 1)
        moving = (t > pe[k]) & (pp[nxt] == person) & (nxt != k)
        f = np.clip((t - pe[k]) / np.maximum(ps[nxt] - pe[k], 1), 0, 1)
        x = np.where(moving, lon[k] + f * (lon[nxt] - lon[k]), lon[k])
        y = np.where(moving, lat[k] + f * (lat[nxt] - lat[k]), lat[k])
        return x, y, ok

    person = codes.get_indexer(visits["pseudo_id"]).astype(np.int64)
    vs, ve = _seconds(visits["visit_start"]), _seconds(visits["visit_end"])
    x0, y0, ok = position(person, vs)
    x1, y1, _ = position(person, ve)
    geoms = shapely.linestrings(np.stack([np.column_stack([x0, x1]), np.column_stack([y0, y1])], axis=-1))
    k0 = np.searchsorted(key, person * 10**10 + vs, "right")
    k1 = np.searchsorted(key, person * 10**10 + ve, "right")
    for i in np.flatnonzero(k1 > k0):  # stays inside the interval (rare for pass-bys)
        inner = zip(lon[k0[i]:k1[i]], lat[k0[i]:k1[i]], strict=True)
        geoms[i] = shapely.linestrings([(x0[i], y0[i]), *inner, (x1[i], y1[i])])
    geoms[~ok | (person < 0)] = None
    return geoms


def to_metres(geoms: np.ndarray, lat0: float) -> np.ndarray:
    """Local equirectangular projection about latitude lat0 (good to < 1 % across a city)."""
    m_lon, m_lat = 111412.84 * np.cos(np.radians(lat0)), 111132.92
    return shapely.transform(geoms, lambda xy: np.column_stack([xy[:, 0] * m_lon, xy[:, 1] * m_lat]))


def passby_precision(visits: pd.DataFrame, path: pd.DataFrame, zones: pd.DataFrame, tolerance_m: float = 50.0) -> dict:
    """Share of pass-by visits whose true path enters the zone (and comes within tolerance_m).
    zones: zone_id, geometry (shapely, lon/lat)."""
    pb = visits[visits["is_passby"]].reset_index(drop=True)
    if not len(pb) or not len(zones):
        return {"passby_visits": len(pb)}
    lat0 = float(np.mean(shapely.bounds(zones["geometry"].to_numpy())[:, [1, 3]]))
    zm = pd.Series(to_metres(zones["geometry"].to_numpy(), lat0), index=zones["zone_id"].to_numpy())
    paths = to_metres(true_paths(pb, path), lat0)
    zg = zm.reindex(pb["zone_id"]).to_numpy()
    valid = ~(shapely.is_missing(paths) | shapely.is_missing(zg))
    d = np.full(len(pb), np.inf)
    d[valid] = shapely.distance(paths[valid], zg[valid])
    dv = d[valid]
    return {"passby_visits": len(pb), "passby_with_true_path": int(valid.sum()),
            "precision_in_zone": _r((dv <= 1e-6).mean()) if len(dv) else None,
            f"precision_within_{int(tolerance_m)}m": _r((dv <= tolerance_m).mean()) if len(dv) else None,
            "median_distance_m": _r(np.median(dv), 1) if len(dv) else None}


# -- dwell statistics per zone and day -----------------------------------------------------------


def hist_counts(dwell_min: pd.Series, zone_id: pd.Series) -> pd.DataFrame:
    """Counts per zone in the published bins < 5, 5-15, 15-60, 60+ minutes."""
    b = pd.cut(dwell_min, HIST_EDGES_MIN, right=False, labels=HIST_NAMES)
    return pd.crosstab(zone_id, b).reindex(columns=list(HIST_NAMES), fill_value=0)


def visit_dwell_stats(visits: pd.DataFrame) -> pd.DataFrame:
    """The pipeline's rule applied to the visits of the day: median dwell (min) of the visits
    that are not pass-bys, histogram of all visits. Index zone_id; median_min, n_<bin>, visits."""
    out = hist_counts(visits["dwell_s"] / 60, visits["zone_id"]).rename(columns=lambda c: f"n_{c}")
    out["median_min"] = visits[~visits["is_passby"]].groupby("zone_id")["dwell_s"].median() / 60
    out["visits"] = visits.groupby("zone_id").size()
    return out


def dwell_metrics(truth: pd.DataFrame, stats: pd.DataFrame, min_zone_stays: int = 20, tolerance: float = 0.25,
                  min_dwell_s: float = 300, share_abs_tolerance: float = 0.05) -> dict:
    """Per-zone dwell statistics vs truth, over the zones with at least min_zone_stays true stays
    and a non-NULL median in `stats` (index zone_id; median_min, n_lt5, n_5_15, n_15_60,
    n_60plus: counts, possibly fractional estimates).

    Truth median: the median duration of the zone's true stays of at least min_dwell_s; truth
    histogram: all its true stays. The median passes when within +-tolerance relative; the
    histogram when every bin's share is within +-tolerance relative or +-share_abs_tolerance."""
    n_true = truth.groupby("zone_id").size()
    has = stats.index[stats["median_min"].notna().to_numpy()]
    zones = n_true.index[(n_true >= min_zone_stays).to_numpy()].intersection(has)
    if not len(zones):
        return {"zones_evaluated": 0}
    t_med = truth[truth["dur_s"] >= min_dwell_s].groupby("zone_id")["dur_s"].median().reindex(zones) / 60
    th = hist_counts(truth["dur_s"] / 60, truth["zone_id"]).reindex(zones).fillna(0).to_numpy(float)
    ph = stats.reindex(zones)[[f"n_{c}" for c in HIST_NAMES]].fillna(0).to_numpy(float)
    med_err = stats["median_min"].reindex(zones) / t_med - 1
    ts = th / np.maximum(th.sum(1, keepdims=True), 1e-9)
    ps = ph / np.maximum(ph.sum(1, keepdims=True), 1e-9)
    gap = np.abs(ps - ts)
    share_ok = (gap <= tolerance * ts + 1e-12) | (gap <= share_abs_tolerance + 1e-12)
    return {
        "zones_evaluated": len(zones),
        "median_within_tol": _r((med_err.abs() <= tolerance + 1e-12).mean()),
        "median_rel_err_median": _r(med_err.median()),
        "median_abs_rel_err_median": _r(med_err.abs().median()),
        "hist_all_shares_within_tol": _r(share_ok.all(1).mean()),
        "hist_tv_median": _r(np.median(0.5 * gap.sum(1))),
        "total_count_rel_err_median": _r(np.median(ph.sum(1) / np.maximum(th.sum(1), 1e-9) - 1)),
        "pooled_true_shares": [_r(x, 3) for x in th.sum(0) / max(th.sum(), 1e-9)],
        "pooled_pub_shares": [_r(x, 3) for x in ph.sum(0) / max(ph.sum(), 1e-9)],
    }
