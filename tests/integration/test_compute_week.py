"""footfall compute-week on a hand-made week, its days written as published (no day compute):
the week's tables, the week's disclosure control, and the refusals.

ISO week 2024-W36: Monday 2024-09-02 to Sunday 2024-09-08. Zone set `it_week`: a shop and a
zone nobody visits. k = 20. Visits (restricted.visits, what the days' computes would have
written; cohorts and homes fixed for the week):

- F01..F30 (25-34, F, home 01) visit the shop on Monday and on Tuesday;
- M01..M12 (35-44, M, home 02) visit it on Wednesday only.

The days as published (zone_daily, zone_daily_total; a day's other tables left out): Monday and
Tuesday 25-34/F 30 and the day's total 30; every other cell withheld (Wednesday 35-44/M and its
total 12, below k; the rest 0).

The week, by hand: 25-34/F 30, 35-44/M 12, in all 42; margins 25-34 30, 35-44 12, F 30, M 12;
home districts 01 30, 02 12, unknown 0 (the days publish no catchment, so the week's districts
are its visitors' and unknown). Primary suppression publishes 25-34/F, the total, the margins 25-34
and F and the district 01. Then the total minus 25-34/F pins 35-44/M to 12, and with it
Wednesday's withheld 35-44/M and its total to at most 12: leaks. Every published week cell of 30
is a cheapest partner of some leak (the cohort's, a margin's, the district's), and the total next;
releasing them again, largest first: the total cannot go (it pins 12 again), each 30 can. So the
week publishes 25-34/F, the margins 25-34 and F and district 01, all 30, and withholds the total;
and the tests' own week attacker (tests/attacker_week.py) finds nothing in it. With the total
withheld there is no catchment mix: each published cell's visitors_est is 30 times its group's
weight in Monday's market share (WEIGHTS).
"""

import datetime as dt
import json

import attack_week
import pytest
import shapely
from attacker_week import week_leaks

from footfall.errors import BadInputError, PublishedDayError
from footfall.localtime import week_label
from footfall.pipeline import compute_week, release
from footfall.schemas import (
    MARKET_SHARE,
    RUNS,
    SUBSCRIBERS,
    VISITS,
    WITHHELD_CELLS,
    ZONE_DAILY,
    ZONE_DAILY_TOTAL,
    ZONE_WEEKLY,
    ZONE_WEEKLY_CATCHMENT,
    ZONE_WEEKLY_MARGINS,
    ZONE_WEEKLY_TOTAL,
    ZONES,
    C,
)
from footfall.tables import ensure_tables, replace_partition

MONDAY = dt.date(2024, 9, 2)
DAYS = [MONDAY + dt.timedelta(days=i) for i in range(7)]
ZONE_SET, GAP_SET, MIXED_SET = "it_week", "it_week_gap", "it_week_mixed"
# 2024-W37: a week whose subscriber snapshots change key on Thursday (privacy.key_epoch_days changed).
OTHER_DAYS = [dt.date(2024, 9, 9) + dt.timedelta(days=i) for i in range(7)]
AGES = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")
GENDERS = ("F", "M", "unknown")
# Monday's market share (home, age band, gender, population, subscribers, weight), hand-picked.
WEIGHTS = [("all", "all", "all", None, 42, 50.0), ("all", "25-34", "F", None, 30, 40.0),
           ("all", "25-34", "all", None, 30, 45.0), ("all", "all", "F", None, 30, 35.0),
           ("01", "all", "all", None, 30, 60.0)]
DAY_WITHHELD = (ZONE_SET, "shop", MONDAY, ZONE_DAILY.name, None, "35-44", "M", None, "primary", f"run-{ZONE_SET}")
PEOPLE = {f"F{i:02d}": ("25-34", "F", "01") for i in range(1, 31)} | {f"M{i:02d}": ("35-44", "M", "02")
                                                                       for i in range(1, 13)}


def _zones(zone_set: str) -> list[tuple]:
    return [(zone_set, z, z, "test", shapely.to_wkb(shapely.box(13.4 + i, 52.5, 13.41 + i, 52.51)), 7.0e5)
            for i, z in enumerate(("shop", "empty"))]


def _visit(zone_set: str, day: dt.date, pid: str, cohort: tuple[str, str, str]) -> tuple:
    # UTC. F01's Monday visit ends at local midnight (22:00 UTC, CEST), as a day's last stay is cut:
    # one visitor-hour (local 23), not also Tuesday's first.
    start = dt.datetime.combine(day, dt.time(21, 30) if (pid, day) == ("F01", MONDAY) else dt.time(10))
    end = start + dt.timedelta(minutes=30)
    return (zone_set, "shop", day, pid, *cohort, start, end, 1800, 3, False, start, end)


def _visits(zone_set: str) -> list[tuple]:
    rows = [_visit(zone_set, day, p, c) for day in DAYS[:2] for p, c in PEOPLE.items() if p.startswith("F")]
    return rows + [_visit(zone_set, DAYS[2], p, c) for p, c in PEOPLE.items() if p.startswith("M")]


def _day_rows(zone_set: str, day: dt.date) -> tuple[list[dict], list[dict]]:
    """zone_daily and zone_daily_total rows of one day as published (module doc)."""
    published = {(MONDAY, "25-34", "F"): 30, (DAYS[1], "25-34", "F"): 30}
    daily = [{C.ZONE_SET: zone_set, C.ZONE_ID: z, C.EVENT_DATE: day, C.AGE_BAND: a, C.GENDER: g,
              C.VISITORS: published.get((day, a, g)) if z == "shop" else None,
              C.STATUS: "published" if z == "shop" and (day, a, g) in published else "suppressed"}
             for z in ("shop", "empty") for a in AGES for g in GENDERS]
    total = 30 if day in DAYS[:2] else None
    totals = [{C.ZONE_SET: zone_set, C.ZONE_ID: z, C.EVENT_DATE: day, C.VISITORS: total if z == "shop" else None,
               C.STATUS: "published" if z == "shop" and total else "suppressed"} for z in ("shop", "empty")]
    return daily, totals


def _frame(spark, rows: list[dict], table):
    return spark.createDataFrame([tuple(r.get(c) for c in table.names) for r in rows], table.struct)


def _runs(zone_set: str, days: list[dt.date]) -> list[tuple]:
    now = dt.datetime(2024, 9, 10)
    return [(f"run-{zone_set}-{d}", "compute", d, zone_set, now, now, 1.0, "ok",
             json.dumps({"privacy_mode": "suppress"}), 20, "test", {}, {}, None) for d in days]


@pytest.fixture(scope="module")
def week(spark, test_config, catalog_claims, request):
    """The week written as published, then compute-week of it (module doc)."""
    catalog_claims.claim_for(request, days=[*DAYS, *OTHER_DAYS],
                             zone_sets=[ZONE_SET, GAP_SET, MIXED_SET])
    ensure_tables(spark, (ZONES, SUBSCRIBERS, MARKET_SHARE, VISITS, RUNS, ZONE_DAILY, ZONE_DAILY_TOTAL,
                          WITHHELD_CELLS))
    sets = (ZONE_SET, GAP_SET, MIXED_SET)
    zones, visits, daily, totals = [], [], [], []
    for zone_set in sets:
        zones += _zones(zone_set)
        rows = _visits(zone_set)
        if zone_set == MIXED_SET:  # F01 counted 18-24 on Tuesday: a day computed with another snapshot
            rows = [r if (r[3], r[2]) != ("F01", DAYS[1]) else (*r[:4], "18-24", *r[5:]) for r in rows]
        visits += rows
        for day in DAYS:
            day_daily, day_totals = _day_rows(zone_set, day)
            daily, totals = daily + day_daily, totals + day_totals
    # One Delta commit per table (each costs about a second).
    replace_partition(spark.createDataFrame(zones, ZONES.struct), ZONES, {C.ZONE_SET: sets})
    for table, rows in ((VISITS, spark.createDataFrame(visits, VISITS.struct)),
                        (ZONE_DAILY, _frame(spark, daily, ZONE_DAILY)),
                        (ZONE_DAILY_TOTAL, _frame(spark, totals, ZONE_DAILY_TOTAL))):
        replace_partition(rows, table, {C.EVENT_DATE: tuple(DAYS), C.ZONE_SET: sets})
    snapshots = [(p, "k2" if day >= OTHER_DAYS[3] else "k1", a, g, "consumer", h, None, day)
                 for day in DAYS + OTHER_DAYS for p, (a, g, h) in PEOPLE.items()]
    replace_partition(spark.createDataFrame(snapshots, SUBSCRIBERS.struct), SUBSCRIBERS,
                      {C.SNAPSHOT_DATE: tuple(DAYS + OTHER_DAYS)})
    replace_partition(spark.createDataFrame([(MONDAY, *w) for w in WEIGHTS], MARKET_SHARE.struct), MARKET_SHARE,
                      {C.SNAPSHOT_DATE: MONDAY})
    # Monday's compute said why its 35-44/M cell was withheld: the week's rows must leave it be.
    replace_partition(spark.createDataFrame([DAY_WITHHELD], WITHHELD_CELLS.struct), WITHHELD_CELLS,
                      {C.EVENT_DATE: MONDAY, C.ZONE_SET: ZONE_SET})
    runs = _runs(ZONE_SET, DAYS + OTHER_DAYS) + _runs(MIXED_SET, DAYS) + _runs(GAP_SET, DAYS[:3] + DAYS[4:])
    spark.createDataFrame(runs, RUNS.struct).write.format("delta").mode("append").saveAsTable(RUNS.name)
    counts = compute_week.run(spark, test_config, MONDAY, [ZONE_SET])
    return spark, counts


def _this_week(zone_id: str | None = None) -> str:
    zone = f" AND {C.ZONE_ID} = '{zone_id}'" if zone_id else ""
    return f"{C.WEEK_START} = DATE'{MONDAY.isoformat()}' AND {C.ZONE_SET} = '{ZONE_SET}'{zone}"


def _published(spark, table) -> dict[tuple, int | None]:
    """The week's rows of `table` by their keys besides zone set and week: visitors, None if withheld."""
    keys = [c for c in table.names if c not in (C.ZONE_SET, C.WEEK_START, C.VISITORS, C.VISITORS_EST, C.STATUS)]
    return {tuple(r[c] for c in keys): (r[C.VISITORS] if r[C.STATUS] == "published" else None)
            for r in spark.table(table.name).where(_this_week()).collect()}


def test_the_week_publishes_what_the_days_do_not_pin_and_withholds_the_total(week):
    spark, counts = week
    cohorts = _published(spark, ZONE_WEEKLY)
    assert len(cohorts) == 2 * 21
    assert {k: v for k, v in cohorts.items() if v is not None} == {("shop", "25-34", "F"): 30}
    assert _published(spark, ZONE_WEEKLY_TOTAL) == {("shop",): None, ("empty",): None}
    margins = _published(spark, ZONE_WEEKLY_MARGINS)
    assert len(margins) == 2 * 10
    assert {k: v for k, v in margins.items() if v is not None} == {("shop", "25-34", "all"): 30,
                                                                    ("shop", "all", "F"): 30}
    homes = _published(spark, ZONE_WEEKLY_CATCHMENT)
    assert sorted(homes) == [(z, h) for z in ("empty", "shop") for h in ("01", "02", "unknown")]
    assert {k: v for k, v in homes.items() if v is not None} == {("shop", "01"): 30}
    assert counts[ZONE_SET]["visits_in"] == 30 * 2 + 12


def test_the_week_counts_its_utility_with_the_days(week):
    """72 visits, one visitor-hour each (10:00-10:30 UTC; F01's Monday one 21:30-22:00). The days
    publish Monday's and Tuesday's 25-34/F and totals (the women's 60 visits); the week 25-34/F,
    its margins and district 01 (the same 60), not its total; the men's 12 nowhere. The shop
    answers, the empty zone not."""
    utility = {k.removeprefix("utility_visits_"): v for k, v in week[1][ZONE_SET].items()
               if k.startswith("utility_visits")}
    assert utility == {"utility_visits": 72, "hour_cohort": 0, "hour": 0, "daypart_cohort": 0, "day_cohort": 60,
                       "day_age": 0, "day_gender": 0, "day": 60, "day_home": 0, "week_cohort": 60, "week_age": 60,
                       "week_gender": 60, "week": 0, "week_home": 60, "any_cohort": 60}
    assert week[1][ZONE_SET]["utility_visitor_hours"] == 72
    assert (week[1][ZONE_SET]["utility_zones"], week[1][ZONE_SET]["utility_zones_any_cohort"]) == (2, 1)


def test_the_week_estimates_its_published_cells_by_the_monday_weights(week):
    """The week's total is withheld, so no catchment mix: each published cell scales by its
    group's weight over all districts (WEIGHTS), a catchment row by its district's."""
    spark, _ = week
    estimates = {(t.name, r[C.ZONE_ID], *[r[c] for c in (C.AGE_BAND, C.GENDER, C.HOME_DISTRICT) if c in t.names]):
                 r[C.VISITORS_EST] for t in (ZONE_WEEKLY, ZONE_WEEKLY_TOTAL, ZONE_WEEKLY_MARGINS, ZONE_WEEKLY_CATCHMENT)
                 for r in spark.table(t.name).where(_this_week()).collect() if r[C.VISITORS_EST] is not None}
    assert estimates == {(ZONE_WEEKLY.name, "shop", "25-34", "F"): 30 * 40.0,
                         (ZONE_WEEKLY_MARGINS.name, "shop", "25-34", "all"): 30 * 45.0,
                         (ZONE_WEEKLY_MARGINS.name, "shop", "all", "F"): 30 * 35.0,
                         (ZONE_WEEKLY_CATCHMENT.name, "shop", "01"): 30 * 60.0}


def test_the_week_says_why_each_withheld_cell_is_withheld_beside_the_days_reasons(week):
    """ops.withheld_cells: one row per withheld week cell, dated by the Monday (41 cohorts, 2
    totals, 18 margins, 5 districts); the shop's total withheld for 35-44/M (linked), which is
    below k itself; Monday's own row stays."""
    spark, _ = week
    rows = spark.table(WITHHELD_CELLS.name).where(
        f"{C.EVENT_DATE} = DATE'{MONDAY.isoformat()}' AND {C.ZONE_SET} = '{ZONE_SET}'").collect()
    by_table: dict[str, int] = {}
    for r in rows:
        by_table[r[C.TABLE_NAME]] = by_table.get(r[C.TABLE_NAME], 0) + 1
    assert by_table == {ZONE_WEEKLY.name: 41, ZONE_WEEKLY_TOTAL.name: 2, ZONE_WEEKLY_MARGINS.name: 18,
                        ZONE_WEEKLY_CATCHMENT.name: 5, ZONE_DAILY.name: 1}
    reasons = {(r[C.TABLE_NAME], r[C.ZONE_ID], r[C.AGE_BAND], r[C.GENDER]): r[C.REASON] for r in rows}
    assert reasons[(ZONE_WEEKLY_TOTAL.name, "shop", None, None)] == "linked"
    assert reasons[(ZONE_WEEKLY.name, "shop", "35-44", "M")] == "primary"
    assert tuple(next(r for r in rows if r[C.TABLE_NAME] == ZONE_DAILY.name)) == DAY_WITHHELD


def test_the_week_attacker_finds_nothing_in_the_week_beside_its_days(week):
    spark, _ = week

    def name(kind: str, row) -> tuple:
        if kind == "week_catchment":
            return kind, row[C.HOME_DISTRICT]
        return (kind, row[C.AGE_BAND], row[C.GENDER]) if kind in ("weekly", "week_margin") else (kind,)

    cells = {}
    for kind, table in (("weekly", ZONE_WEEKLY), ("week_total", ZONE_WEEKLY_TOTAL),
                        ("week_margin", ZONE_WEEKLY_MARGINS), ("week_catchment", ZONE_WEEKLY_CATCHMENT)):
        for r in spark.table(table.name).where(_this_week("shop")).collect():
            cells[name(kind, r)] = float(r[C.VISITORS]) if r[C.STATUS] == "published" else None
    days: dict[str, dict[tuple, float | None]] = {}
    for day in DAYS:
        daily, totals = _day_rows(ZONE_SET, day)
        named = {("daily", r[C.AGE_BAND], r[C.GENDER]): r[C.VISITORS] for r in daily if r[C.ZONE_ID] == "shop"}
        named[("day_total",)] = totals[0][C.VISITORS]
        days[day.isoformat()] = {n: (float(v) if v is not None else None) for n, v in named.items()}
    assert week_leaks("shop", days, cells, 20) == []
    # Negative control: the week's total as it would have been published (42) pins the withheld 12 men.
    assert week_leaks("shop", days, {**cells, ("week_total",): 42.0}, 20) != []


def test_make_attack_week_reads_the_published_week_as_an_analyst_and_finds_nothing(week, test_config, capsys,
                                                                                    monkeypatch):
    """tests/attack_week.py (`make attack-week`) on this catalog, through footfall duckdb: the shop
    is the one zone whose week publishes a cell; nothing is narrowed. Negative control: the shop's
    week total published as 42 pins the withheld 12 men, and the script exits 1."""
    argv = ["--data", test_config.paths.data_dir, "--week", week_label(MONDAY), "--zone-set", ZONE_SET]
    assert attack_week.main(argv) == 0
    out = capsys.readouterr().out
    assert "1 of 2 zones with a published week cell" in out and "1/1 shop: 0 exposures" in out
    assert "0 exposures in 1 zones" in out
    read = attack_week.read_week

    def with_total(*args):
        frames = read(*args)
        totals = frames[ZONE_WEEKLY_TOTAL.name]
        shop = totals[C.ZONE_ID] == "shop"
        totals[C.VISITORS] = totals[C.VISITORS].astype("float64")
        totals.loc[shop, [C.VISITORS, C.STATUS]] = [42.0, "published"]
        return frames

    monkeypatch.setattr(attack_week, "read_week", with_total)
    assert attack_week.main(argv) == 1
    assert "shop: " in capsys.readouterr().out


def test_compute_week_refuses_a_week_with_a_day_not_published(week, test_config):
    with pytest.raises(BadInputError, match=r"not published: 2024-09-05 it_week_gap\. Run footfall compute"):
        compute_week.run(week[0], test_config, MONDAY, [GAP_SET])


def test_compute_week_refuses_visits_in_two_cohorts(week, test_config):
    with pytest.raises(BadInputError, match=r"^1 subscribers have visits in two cohorts"):
        compute_week.run(week[0], test_config, MONDAY, [MIXED_SET])


def test_compute_week_refuses_a_week_under_two_pseudonymisation_keys(week, test_config):
    with pytest.raises(BadInputError, match=r"carry 2 pseudonymisation keys \(k1, k2\)"):
        compute_week.run(week[0], test_config, OTHER_DAYS[0], [ZONE_SET])


def test_a_published_week_and_its_days_are_immutable(week, test_config):
    """A second release of the week, or a republish of one of its days, could be differenced
    against the first: both refused before any work."""
    with pytest.raises(PublishedDayError, match="the week of 2024-09-02 is already published for it_week"):
        compute_week.run(week[0], test_config, MONDAY, [ZONE_SET])
    with pytest.raises(PublishedDayError, match="whose week release is published for it_week"):
        release.check_release(week[0], test_config, DAYS[3], [ZONE_SET], republish=True)


def test_iso_week_parses_the_monday_and_refuses_what_is_no_iso_week():
    assert compute_week.iso_week("2024-W36") == MONDAY
    assert compute_week.iso_week("2026-W01") == dt.date(2025, 12, 29)
    for text in ("2024-36", "2024-W54", "W36"):
        with pytest.raises(Exception, match="is not an ISO week"):
            compute_week.iso_week(text)
