"""The accuracy benchmark's metrics (bench/accuracy_metrics.py, bench/accuracy.py) on hand-made
frames with expectations derived by hand in the comments. Pure pandas: no Spark."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest
import shapely

from bench import accuracy as acc
from bench import accuracy_metrics as m
from footfall.privacy.pseudonym import epoch_key

DAY0 = pd.Timestamp("2026-03-14 00:00")  # a day of 24 hours starting at 00:00 UTC, for the hand examples


def t(hhmm: str) -> pd.Timestamp:
    return pd.Timestamp(f"2026-03-14 {hhmm}")


def stays(*rows: tuple[str, str, str, str]) -> pd.DataFrame:
    """True stays: (zone_id, pseudo_id, start, end)."""
    df = pd.DataFrame(rows, columns=["zone_id", "pseudo_id", "start", "end"])
    df["start"], df["end"] = df["start"].map(t), df["end"].map(t)
    df["dur_s"] = (df["end"] - df["start"]).dt.total_seconds()
    return df


def visits(*rows: tuple[str, str, str, str, bool]) -> pd.DataFrame:
    """Visits: (zone_id, pseudo_id, visit_start, visit_end, is_passby)."""
    df = pd.DataFrame(rows, columns=["zone_id", "pseudo_id", "visit_start", "visit_end", "is_passby"])
    df["visit_start"], df["visit_end"] = df["visit_start"].map(t), df["visit_end"].map(t)
    df["dwell_s"] = (df["visit_end"] - df["visit_start"]).dt.total_seconds()
    return df


def events(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"pseudo_id": [r[0] for r in rows], "event_time": [t(r[1]) for r in rows]})


# Three true stays of p1 in zone A and four visits:
#   T1 10:00-11:00 (60 min)   V1 10:00-11:12 (72 min): overlap 60 >= half of min(60, 72): covers T1 -> one visit
#   T2 12:00-14:00 (120 min)  V2 12:00-12:50, V3 13:10-14:00 (50 min each): both cover T2 -> split
#   T3 16:00-16:30 (30 min)   no visit -> not recovered
#                             V4 18:00-18:20, not a pass-by, no true stay -> phantom
# Events of p1 at 10:30 (in T1), 13:00 (in T2), 20:00 (in none): T1 and T2 observed, T3 not.
TRUTH = stays(("A", "p1", "10:00", "11:00"), ("A", "p1", "12:00", "14:00"), ("A", "p1", "16:00", "16:30"))
VISITS = visits(("A", "p1", "10:00", "11:12", False), ("A", "p1", "12:00", "12:50", False),
                ("A", "p1", "13:10", "14:00", False), ("A", "p1", "18:00", "18:20", False))
EVENTS = events(("p1", "10:30"), ("p1", "13:00"), ("p1", "20:00"))


def matched() -> tuple[pd.DataFrame, pd.DataFrame]:
    truth = TRUTH.assign(observed=m.observed_mask(TRUTH, EVENTS))
    return m.match_visits(VISITS, truth)


def test_observed_true_stays_are_those_with_an_accepted_event_inside():
    assert m.observed_mask(TRUTH, EVENTS).tolist() == [True, True, False]
    # the interval is closed: an event exactly at the end observes the stay; a stranger's does not
    assert m.observed_mask(TRUTH, events(("p1", "16:30"))).tolist() == [False, False, True]
    assert m.observed_mask(TRUTH, events(("p2", "10:30"))).tolist() == [False, False, False]


def test_matching_counts_covering_visits_per_true_stay():
    v, tr = matched()
    assert tr["n_overlap"].tolist() == [1, 2, 0]
    assert tr["n_matched"].tolist() == [1, 2, 0]  # V1 -> T1, V2 and V3 -> T2
    assert v["touches_truth"].tolist() == [True, True, True, False]
    assert tr["dwell_overlap_s"].tolist() == [4320.0, 6000.0, 0.0]


def test_recovery_as_one_visit_split_and_dwell_ratio():
    _, tr = matched()
    r = m.recovery_metrics(tr)
    b = r["15+"]  # all three stays are 15 min or more
    assert (b["true_stays"], b["observed"]) == (3, 2)
    assert b["one_visit_all"] == pytest.approx(0.3333)  # T1 of T1, T2, T3
    assert b["recovered_all"] == pytest.approx(0.6667)  # T1, T2
    assert b["split_all"] == pytest.approx(0.3333)  # T2
    assert b["one_to_one_all"] == pytest.approx(0.3333)  # T1: one visit has it as its best match
    assert (b["one_visit_obs"], b["recovered_obs"], b["split_obs"]) == (0.5, 1.0, 0.5)  # of T1, T2
    # dwell over the stays recovered as one visit, i.e. T1: 72 / 60 = 1.2, |72 - 60| = 12 min
    assert b["dwell_ratio_median"] == pytest.approx(1.2)
    assert b["dwell_abs_err_median_min"] == pytest.approx(12.0)
    assert (b["recovered_dwell_median_min"], b["true_dur_median_min_same_stays"]) == (72.0, 60.0)
    assert r["60-240"]["true_stays"] == 2 and r["15-60"]["true_stays"] == 1 and r["<5"]["true_stays"] == 0
    assert r["15-60"]["recovered_all"] == 0.0  # T3
    assert r["all"]["one_visit_obs"] == 0.5


def test_phantom_share_is_over_visits_that_are_not_pass_bys():
    v, _ = matched()
    vm = m.visit_metrics(v)
    assert (vm["visits"], vm["passby_visits"], vm["phantoms"]) == (4, 0, 1)
    assert vm["phantom_share"] == 0.25  # V4 of 4
    # a pass-by without a true stay is no phantom (its precision is measured separately)
    extra = pd.concat([VISITS, visits(("A", "p1", "19:00", "19:02", True))], ignore_index=True)
    vm = m.visit_metrics(m.match_visits(extra, TRUTH)[0])
    assert (vm["visits"], vm["passby_visits"], vm["phantoms"], vm["phantom_share"]) == (5, 1, 1, 0.25)


def test_a_spill_over_a_boundary_does_not_cover_and_a_merged_visit_covers_both():
    truth = TRUTH.iloc[:2].assign(observed=True)
    # 09:00-10:02 overlaps T1 by 2 min, less than half of min(60, 62) min: touches, does not cover
    v, tr = m.match_visits(visits(("A", "p1", "09:00", "10:02", False)), truth)
    assert tr["n_overlap"].tolist() == [0, 0] and v["touches_truth"].tolist() == [True]
    # 10:00-14:00 covers T1 (60 of 60 min) and T2 (120 of 120): both "one visit" (R1), but it is the
    # best match of T2 only (longest overlap), so T1 is merged and not recovered one-to-one (R2)
    v, tr = m.match_visits(visits(("A", "p1", "10:00", "14:00", False)), truth)
    assert tr["n_overlap"].tolist() == [1, 1] and tr["n_matched"].tolist() == [0, 1]
    b = m.band_metrics(tr)
    assert (b["one_visit_obs"], b["one_to_one_obs"], b["merged_obs"]) == (1.0, 0.5, 0.5)


def test_presence_per_zone_and_hour_and_set_sums():
    # zone A: p1 truly 10:00-11:00 (hour 10 only: a true stay needs positive overlap), p2 10:30-12:00
    # (hours 10, 11); zone B: p1 13:00-14:00 (hour 13).
    truth = stays(("A", "p1", "10:00", "11:00"), ("A", "p2", "10:30", "12:00"), ("B", "p1", "13:00", "14:00"))
    # visits: p1 10:10-11:00 (hours 10 and 11: a visit ending at 11:00:00 is in hour 11) and again
    # 10:50-10:55 (the same person-hour), p2 10:30-11:30 (10, 11), p4 11:20-11:25 (11); none in B.
    vis = visits(("A", "p1", "10:10", "11:00", False), ("A", "p1", "10:50", "10:55", True),
                 ("A", "p2", "10:30", "11:30", False), ("A", "p4", "11:20", "11:25", True))
    cells = m.presence_cells(vis, truth, DAY0, 24).set_index(["zone_id", "hour"])
    assert cells.loc[("A", 10), ["P", "V"]].tolist() == [2, 2]  # {p1, p2} / {p1, p2}
    assert cells.loc[("A", 11), ["P", "V"]].tolist() == [1, 3]  # {p2} / {p1, p2, p4}
    assert cells.loc[("B", 13), ["P", "V"]].tolist() == [1, 0]
    s = m.presence_summary(cells.reset_index(), 24, min_population=2)
    assert s["cells_evaluated"] == 1  # only (A, 10) has P >= 2
    assert (s["cell_ratio_min"], s["cell_ratio_max"], s["share_cells_within_10pct"]) == (1.0, 1.0, 1.0)
    # per hour over the set: 10: 2/2, 11: 3/1, 13: 0/1; hours without anybody present: None
    assert s["set_sum_ratio_by_hour"][10:14] == [1.0, 3.0, None, 0.0]
    assert (s["set_sum_ratio_min"], s["set_sum_ratio_max"]) == (0.0, 3.0)
    assert s["present_by_hour"][10:14] == [2, 1, 0, 1]


def test_hours_are_clipped_to_the_day():
    # a visit from 23:30 to 23:59:59 of a 24-hour day is in hour 23 only; one starting before the day in hour 0
    vis = visits(("A", "p1", "23:30", "23:59:59", False))
    assert m.explode_hours(vis, "visit_start", "visit_end", DAY0, 24, closed_end=True)["hour"].tolist() == [23]
    early = vis.assign(visit_start=DAY0 - pd.Timedelta("10min"), visit_end=DAY0 + pd.Timedelta("5min"))
    assert m.explode_hours(early, "visit_start", "visit_end", DAY0, 24, closed_end=True)["hour"].tolist() == [0]


def dwell_truth() -> pd.DataFrame:
    # zone Z: 3, 10, 20, 30, 90 min: median of those >= 5 min = (20 + 30) / 2 = 25; shares .2 .2 .4 .2
    # zone Y: five stays of 20 min: median 20; shares 0 0 1 0
    # zone X: four stays, fewer than min_zone_stays = 5: not evaluated
    rows = [("Z", d) for d in (3, 10, 20, 30, 90)] + [("Y", 20)] * 5 + [("X", 20)] * 4
    return pd.DataFrame({"zone_id": [r[0] for r in rows], "dur_s": [60.0 * r[1] for r in rows]})


def test_dwell_statistics_per_zone_against_truth():
    stats = pd.DataFrame({
        "median_min": [30.0, 26.0, 20.0, np.nan],  # Z +20 % (within 25 %), Y +30 % (not), X and W not evaluated
        "n_lt5": [2.0, 0.0, 0.0, 1.0], "n_5_15": [2.0, 1.0, 0.0, 1.0],  # Z: shares .2 .2 .4 .2 (exact)
        "n_15_60": [4.0, 4.0, 4.0, 1.0], "n_60plus": [2.0, 0.0, 0.0, 1.0],  # Y: 0 .2 .8 0: bin 5-15 off by .2
    }, index=pd.Index(["Z", "Y", "X", "W"], name="zone_id"))
    d = m.dwell_metrics(dwell_truth(), stats, min_zone_stays=5)
    assert d["zones_evaluated"] == 2
    assert d["median_within_tol"] == 0.5
    assert d["median_rel_err_median"] == pytest.approx(0.25)  # median of +0.2 and +0.3
    # Y's 5-15 share is .2 against 0: more than 25 % of 0 and more than 5 points; its 15-60 share
    # .8 against 1 is within 25 %. Z passes.
    assert d["hist_all_shares_within_tol"] == 0.5
    assert d["hist_tv_median"] == pytest.approx(0.1)  # Z 0, Y (0.2 + 0.2) / 2 = 0.2
    assert d["total_count_rel_err_median"] == pytest.approx(0.5)  # Z 10/5 - 1 = 1, Y 5/5 - 1 = 0
    assert d["pooled_true_shares"] == [0.1, 0.1, 0.7, 0.1]  # [1, 1, 2, 1] + [0, 0, 5, 0] of 10
    assert d["pooled_pub_shares"] == [0.133, 0.2, 0.533, 0.133]  # [2, 2, 4, 2] + [0, 1, 4, 0] of 15
    assert m.dwell_metrics(dwell_truth(), stats, min_zone_stays=6) == {"zones_evaluated": 0}


def test_dwell_statistics_from_visits_and_from_published_estimates():
    vis = visits(("Z", "p1", "10:00", "10:02", True), ("Z", "p2", "10:00", "10:10", False),
                 ("Z", "p3", "10:00", "10:30", False))
    s = m.visit_dwell_stats(vis).loc["Z"]
    # median of the non-pass-by dwells 10 and 30 min = 20; histogram of all three visits
    assert s["median_min"] == 20.0 and s["visits"] == 3
    assert [s["n_lt5"], s["n_5_15"], s["n_15_60"], s["n_60plus"]] == [1, 1, 1, 0]
    est = pd.DataFrame({"zone_id": ["Z"], "visits": [12], "stays_est": [10.0], "dwell_est_median_min": [18.5],
                        "dwell_est_lt5_share": [0.1], "dwell_est_5_15_share": [0.2],
                        "dwell_est_15_60_share": [0.3], "dwell_est_60plus_share": [0.4]})
    e = acc.estimate_stats(est).loc["Z"]  # counts = share x stays_est
    assert [e["n_lt5"], e["n_5_15"], e["n_15_60"], e["n_60plus"]] == pytest.approx([1, 2, 3, 4])
    assert (e["median_min"], e["visits"]) == (18.5, 12)


def box(lon0: float, lon1: float) -> shapely.Polygon:
    return shapely.box(lon0, 52.499, lon1, 52.501)


def test_passby_precision_follows_the_true_path_between_stays():
    # p1 stays at 13.40 until 10:00, then at 13.42 from 10:20: at 10:08 the true position is
    # 13.408 (8 of 20 min), at 10:12 13.412. Zones: "mid" 13.408-13.412 (crossed), "near" from
    # 13.4125 (0.0005 deg = 0.0005 x 111412.84 x cos 52.5 deg = 33.9 m away), "far" from 13.43.
    path = pd.DataFrame({"pseudo_id": ["p1", "p1"], "start": [t("09:00"), t("10:20")],
                         "end": [t("10:00"), t("12:00")], "lon": [13.40, 13.42], "lat": [52.50, 52.50]})
    zones = pd.DataFrame({"zone_id": ["mid", "near", "far"],
                          "geometry": [box(13.408, 13.412), box(13.4125, 13.413), box(13.43, 13.431)]})
    vis = visits(*[(z, "p1", "10:08", "10:12", True) for z in ("mid", "near", "far")],
                 ("mid", "p9", "10:08", "10:12", True),  # nobody's path: left out
                 ("mid", "p1", "10:00", "10:30", False))  # not a pass-by: left out
    p = m.passby_precision(vis, path, zones, tolerance_m=50)
    assert (p["passby_visits"], p["passby_with_true_path"]) == (4, 3)
    assert p["precision_in_zone"] == pytest.approx(0.3333)
    assert p["precision_within_50m"] == pytest.approx(0.6667)
    assert p["median_distance_m"] == pytest.approx(33.9, abs=0.1)


def test_included_subscribers_follow_the_ingest_rules():
    subs = pd.DataFrame({
        "kind": ["consumer", "consumer", "m2m", "consumer", "business", "consumer"],
        "opted_out": [False, False, False, True, False, False],
        # 18 on the day (kept), 18 tomorrow (minor), -, -, unknown (kept), implausible age 126 (kept)
        "crm_birth_date": ["2008-03-14", "2008-03-15", None, "1980-01-01", None, "1900-01-01"],
    })
    assert acc.included_subscribers(subs, dt.date(2026, 3, 14)).tolist() == [True, False, False, False, True, True]


def test_local_days_have_23_24_or_25_hours():
    assert acc.local_day(dt.date(2026, 3, 14), "Europe/Berlin") == acc.Day(
        dt.date(2026, 3, 14), pd.Timestamp("2026-03-13 23:00"), 24)
    assert acc.local_day(dt.date(2026, 3, 29), "Europe/Berlin").n_hours == 23
    day = acc.local_day(dt.date(2026, 10, 25), "Europe/Berlin")
    assert (day.start, day.n_hours) == (pd.Timestamp("2026-10-24 22:00"), 25)


def test_truth_is_linked_by_the_epoch_keys_pseudonym(tmp_path):
    day = acc.local_day(dt.date(2026, 3, 14), "Europe/Berlin")
    (tmp_path / "subscribers").mkdir()
    (tmp_path / "visits").mkdir()
    pd.DataFrame({"msisdn": ["4917600000001", "4917600000002"], "kind": ["consumer", "m2m"],
                  "opted_out": [False, False], "crm_birth_date": ["1990-01-01", None]}).to_parquet(
        tmp_path / "subscribers" / "part-00000.parquet")
    utc = pd.Timestamp("2026-03-14 08:00", tz="UTC")
    pd.DataFrame({"msisdn": ["+49 17600000001", "4917600000002", "4917600000001"],
                  "event_date": [dt.date(2026, 3, 14), dt.date(2026, 3, 14), dt.date(2026, 3, 15)],
                  "zone_set": "districts", "zone_id": "01", "start": utc, "end": utc + pd.Timedelta("90min"),
                  "stay_type": "home", "lon": 13.4, "lat": 52.5}).to_parquet(tmp_path / "visits" / "a.parquet")
    key = epoch_key(bytes(range(32)), day.date, 28)
    truth, included = acc.load_truth(str(tmp_path), day, key.pseudonym)
    # the m2m SIM and the other date are left out; "+49 176..." is normalised before hashing
    assert included == 1 and len(truth) == 1
    expected = hmac.new(key.secret, b"4917600000001", hashlib.sha256).hexdigest()
    assert truth["pseudo_id"].tolist() == [expected]
    assert (truth["start"].iloc[0], truth["dur_s"].iloc[0]) == (pd.Timestamp("2026-03-14 08:00"), 5400.0)


def test_targets_on_the_hand_example():
    truth = TRUTH.assign(zone_set="districts")
    zones = pd.DataFrame({"zone_id": ["A"], "geometry": [box(13.0, 14.0)]})
    res = {"districts": acc.evaluate_set(VISITS, truth, EVENTS, acc.true_path(truth.assign(lon=13.4, lat=52.5)),
                                         zones, None, acc.Day(DAY0.date(), DAY0, 24), acc.Params())}
    rows = {r["criterion"].split(":")[1].strip(): r for r in acc.targets(res)}
    # no cell has 20 people: nothing to evaluate per cell; set sums per hour 0 (hour 16: T3 unrecovered) .. 1
    assert rows["visitors / present per zone x hour (cells P >= 20)"]["met"] is None
    assert rows["zone set summed per hour"]["met"] is False
    assert rows["observed true stays of 15+ min recovered as one visit"]["met"] is False  # 50 %
    assert rows["median recovered dwell / true duration (15+ min, as one visit)"]["met"] is True  # 1.2
    assert rows["phantom visits (not pass-by, no true stay)"]["met"] is False  # 25 %
    table = acc.markdown_table(acc.targets(res))
    assert table.splitlines()[0] == "| criterion | target | measured | met |"
    assert "| 25.0% of 4 | **no** |" in table
