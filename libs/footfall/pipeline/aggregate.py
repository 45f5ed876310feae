"""Visits to the published grids: zone x local hour (x cohort), zone x local day (x cohort), the
day's visitors by age band and by gender, zone x day part x cohort, and zone x day x home district.

A subscriber is a visitor of every local clock hour one of its visits overlaps; a visit (its
count, pass-by flag and dwell) counts in the hour it starts. Every grid is published in full,
with zeros where nothing happened, so an empty cell and a suppressed one look the same after
disclosure control. Next to each additive visit metric a grid carries, in a private column, the
number of distinct subscribers behind it (PEOPLE): disclosure control tests k on those, and they
are never written. Definitions: docs/definitions.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from footfall.localtime import DayPart, LocalHour, part_of
from footfall.schemas import (
    AGE_BANDS,
    GENDERS,
    MARGIN_ALL,
    ZONE_CATCHMENT,
    ZONE_DAILY,
    ZONE_DAILY_MARGINS,
    ZONE_DAILY_TOTAL,
    ZONE_DAYPART,
    ZONE_HOURLY,
    ZONE_HOURLY_TOTAL,
    ZONE_WEEKLY,
    ZONE_WEEKLY_CATCHMENT,
    ZONE_WEEKLY_MARGINS,
    ZONE_WEEKLY_TOTAL,
    C,
    Table,
    grid_cols,
)

HOUR_END = "_hour_end"
_HOURS = "_hours"
_HOUR = "_hour"
_COHORT = "_cohort"
# Added by explode_visit_hours: the visit starts in the row's hour and counts there (the visit
# counts of the hourly grids; footfall.pipeline.utility counts visits by it too).
STARTS_HERE = "_starts_here"
# Added by bound_contributions: whether a visit counts in the visit metrics (dp uses it too).
COUNTED = "_counted"

COUNT_METRICS = (C.VISITORS, C.VISITS, C.PASSERSBY, C.DWELL_LT5, C.DWELL_5_15, C.DWELL_15_60, C.DWELL_60PLUS)
METRICS = (*COUNT_METRICS, C.DWELL_MEDIAN_MIN, C.DWELL_MEAN_MIN)
# Private: the visits that are not pass-bys (the dwell median and mean describe them).
STAYS = "_stays"
# Private: per additive visit count (and STAYS), the distinct subscribers it counts; a cell's
# visits may come from far fewer people than its visitors (one person, 25 visitors).
PEOPLE = {C.VISITS: "_starters", C.PASSERSBY: "_passers", STAYS: "_stayers", C.DWELL_LT5: "_people_lt5",
          C.DWELL_5_15: "_people_5_15", C.DWELL_15_60: "_people_15_60", C.DWELL_60PLUS: "_people_60plus"}
# Private: the most stays, and the most dwell seconds of stays, of any one subscriber in the cell:
# the dwell statistics are withheld where one person dominates them (privacy.max_stay_share).
TOP_STAYS = "_top_stays"
TOP_DWELL_S = "_top_dwell_s"
PRIVATE = (STAYS, *PEOPLE.values(), TOP_STAYS, TOP_DWELL_S)
_DWELL_S_SUM = "_dwell_s_sum"
_STAY_MINUTES = "_stay_minutes"
# zone_daily_total's model-based dwell estimates (footfall.pipeline.dwell): NULL with the cell.
ESTIMATES = (C.STAYS_EST, C.DWELL_EST_MEDIAN_MIN, C.DWELL_EST_LT5_SHARE, C.DWELL_EST_5_15_SHARE,
             C.DWELL_EST_15_60_SHARE, C.DWELL_EST_60PLUS_SHARE)


def _hours_literal(hours: Sequence[LocalHour]) -> Column:
    """The hours as an array<struct> literal. Instants go in as epoch seconds, not Python
    datetimes, so the Python process's own time zone can never shift them."""
    def epoch(t: dt.datetime) -> int:
        return int(t.replace(tzinfo=dt.UTC).timestamp())

    return F.array(*[
        F.struct(
            F.timestamp_seconds(F.lit(epoch(h.hour_start))).alias(C.HOUR_START),
            F.timestamp_seconds(F.lit(epoch(h.hour_start) + 3600)).alias(HOUR_END),
            F.lit(h.local_hour).alias(C.LOCAL_HOUR),
            F.lit(h.utc_offset_min).alias(C.UTC_OFFSET_MIN),
            F.lit(part_of(h.local_hour)).alias(C.DAY_PART),
        )
        for h in hours
    ])


def bound_contributions(visits: DataFrame, max_visits_per_hour: int, max_dwell_minutes: int) -> DataFrame:
    """Mark which visits count in the visit metrics: per subscriber, zone and hour of the visit's
    start, the first `max_visits_per_hour` (by start, then end). One subscriber flickering in and
    out of a zone all day can then add at most that many visits, pass-bys and dwell values to a
    cell, and 24 times that to a day. Visitors need no cap: a subscriber is one visitor of a
    cell however many visits it has. Hours are truncated in UTC, which equals the local hour for
    the whole-hour offsets of the supported zones (see footfall.localtime.day_hours).

    Dwell is capped at `max_dwell_minutes` before any statistic, so that one stay moves a mean
    of n stays by at most cap / n (privacy.max_dwell_minutes, docs/privacy.md).
    """
    hour = F.date_trunc("hour", F.col(C.VISIT_START))
    order = Window.partitionBy(C.ZONE_SET, C.ZONE_ID, C.PSEUDO_ID, hour).orderBy(C.VISIT_START, C.VISIT_END)
    return visits.withColumn(COUNTED, F.row_number().over(order) <= max_visits_per_hour).withColumn(
        C.DWELL_S, F.least(F.col(C.DWELL_S), F.lit(max_dwell_minutes * 60).cast(visits.schema[C.DWELL_S].dataType)))


def _counted(visits: DataFrame) -> Column:
    """Whether a visit counts in the visit metrics: all do unless bound_contributions ran."""
    return F.col(COUNTED) if COUNTED in visits.columns else F.lit(True)


def explode_visit_hours(visits: DataFrame, hours: Sequence[LocalHour]) -> DataFrame:
    """One row per visit and local hour it overlaps (with the hour's day part), plus whether the
    visit starts in that hour.

    A visit [start, end] overlaps hour [h, h + 1h) when h <= end and h + 1h > start: a visit
    whose (estimated) end is 11:00:00 is in hour 11. Hours outside `hours` (another day) are
    never produced.
    """
    overlapping = F.filter(
        _hours_literal(hours),
        lambda h: (h[C.HOUR_START] <= F.col(C.VISIT_END)) & (h[HOUR_END] > F.col(C.VISIT_START)),
    )
    exploded = visits.withColumn(_HOUR, F.explode(overlapping))
    return exploded.select(
        *visits.columns,
        *[F.col(f"{_HOUR}.{c}").alias(c) for c in (C.HOUR_START, C.LOCAL_HOUR, C.UTC_OFFSET_MIN, C.DAY_PART)],
        ((F.col(C.VISIT_START) >= F.col(f"{_HOUR}.{C.HOUR_START}"))
         & (F.col(C.VISIT_START) < F.col(f"{_HOUR}.{HOUR_END}"))
         & _counted(visits)).alias(STARTS_HERE),
    )


def _per_subscriber(counts_here: Column) -> list[Column]:
    """Per cell and subscriber: its visits counted in the cell by metric, and its stays' dwell in
    minutes (and their sum in seconds). `counts_here` marks the rows whose visit counts in the cell (it started there);
    every row makes its subscriber a visitor."""
    visit = F.when(counts_here, F.col(C.DWELL_S))  # NULL where not counted: invisible to count()
    stay_s = F.when(counts_here & ~F.col(C.IS_PASSBY), F.col(C.DWELL_S))
    stay_min = stay_s / 60.0
    return [
        F.count(visit).alias(C.VISITS),
        F.count(F.when(counts_here & F.col(C.IS_PASSBY), 1)).alias(C.PASSERSBY),
        F.count(stay_min).alias(STAYS),
        F.count(F.when(visit < 5 * 60, 1)).alias(C.DWELL_LT5),
        F.count(F.when((visit >= 5 * 60) & (visit < 15 * 60), 1)).alias(C.DWELL_5_15),
        F.count(F.when((visit >= 15 * 60) & (visit < 60 * 60), 1)).alias(C.DWELL_15_60),
        F.count(F.when(visit >= 60 * 60, 1)).alias(C.DWELL_60PLUS),
        F.collect_list(stay_min).alias(_STAY_MINUTES),
        F.coalesce(F.sum(stay_s), F.lit(0)).alias(_DWELL_S_SUM),
    ]


def _per_cell() -> list[Column]:
    """The metrics of one cell from its rows of _per_subscriber: one row per visitor."""
    return [
        F.count(F.lit(1)).alias(C.VISITORS),  # exact: the privacy threshold applies to it
        *[F.sum(m).alias(m) for m in PEOPLE],
        *[F.count(F.when(F.col(m) > 0, 1)).alias(people) for m, people in PEOPLE.items()],
        F.max(STAYS).alias(TOP_STAYS),
        F.max(_DWELL_S_SUM).alias(TOP_DWELL_S),
        F.array_sort(F.flatten(F.collect_list(_STAY_MINUTES))).alias(_STAY_MINUTES),
    ]


def _dwell_statistics(cells: DataFrame) -> DataFrame:
    """The exact median and the mean of each cell's sorted stay minutes (NULL without stays),
    in place of the list. By hand rather than F.median because the list is only complete after
    the second aggregation; the median is percentile's (the middle value, or the mean of the two)."""
    stays = F.col(_STAY_MINUTES)
    n = F.size(stays)
    middle = (F.element_at(stays, F.floor((n + 1) / 2).cast("int"))
              + F.element_at(stays, F.floor(n / 2 + 1).cast("int"))) / 2
    total = F.aggregate(stays, F.lit(0.0), lambda acc, x: acc + x)
    return cells.withColumn(C.DWELL_MEDIAN_MIN, F.when(n > 0, middle)).withColumn(
        C.DWELL_MEAN_MIN, F.when(n > 0, total / n)).drop(_STAY_MINUTES)


def _cohorts() -> Column:
    return F.array(*[
        F.struct(F.lit(a).alias(C.AGE_BAND), F.lit(g).alias(C.GENDER)) for a in AGE_BANDS for g in GENDERS
    ])


def _grid(zones: DataFrame, day: dt.date, hours: Sequence[LocalHour] | None, by_cohort: bool) -> DataFrame:
    """Every zone of the set x every local hour of the day (if hours) x all cohorts (if by_cohort)."""
    grid = zones.select(C.ZONE_SET, C.ZONE_ID, F.lit(day).alias(C.EVENT_DATE))
    if hours is not None:
        grid = grid.withColumn(_HOURS, F.explode(_hours_literal(hours))).select(
            "*", *[F.col(f"{_HOURS}.{c}").alias(c) for c in (C.HOUR_START, C.LOCAL_HOUR, C.UTC_OFFSET_MIN)]
        ).drop(_HOURS)
    if by_cohort:
        grid = grid.withColumn(_COHORT, F.explode(_cohorts())).select(
            "*", F.col(f"{_COHORT}.{C.AGE_BAND}").alias(C.AGE_BAND), F.col(f"{_COHORT}.{C.GENDER}").alias(C.GENDER)
        ).drop(_COHORT)
    return grid


def _full_grid(rows: DataFrame, grid: DataFrame, counts_here: Column, table: Table) -> DataFrame:
    """Aggregate `rows` per cell of `grid` and publish every grid cell: zeros where nothing
    happened, NULL dwell statistics where no visit stayed. Columns: `table` without status
    (and without estimates), then PRIVATE."""
    keys = [c for c in grid.columns if c != C.LOCAL_HOUR and c != C.UTC_OFFSET_MIN]
    # Two levels, per subscriber and then per cell, so that every count knows its people.
    measured = (rows.groupBy(*keys, C.PSEUDO_ID).agg(*_per_subscriber(counts_here))
                .groupBy(*keys).agg(*_per_cell()).transform(_dwell_statistics))
    joined = grid.alias("g").join(
        measured.alias("m"), [F.col(f"g.{k}") == F.col(f"m.{k}") for k in keys], how="left"
    )
    values = {c: F.coalesce(F.col(f"m.{c}"), F.lit(0)).cast("long") for c in (*COUNT_METRICS, *PRIVATE)}
    values |= {c: F.col(f"m.{c}") for c in (C.DWELL_MEDIAN_MIN, C.DWELL_MEAN_MIN)}
    return joined.select(*[
        values[c].alias(c) if c in values else F.col(f"g.{c}").alias(c)
        for c in (*grid_cols(table), *PRIVATE) if c not in ESTIMATES
    ])


def aggregate_cohort_hours(visit_hours: DataFrame, zones: DataFrame, day: dt.date,
                           hours: Sequence[LocalHour]) -> DataFrame:
    """footfall.zone_hourly before disclosure control: zone x local hour x cohort, full grid."""
    return _full_grid(visit_hours, _grid(zones, day, hours, by_cohort=True), F.col(STARTS_HERE), ZONE_HOURLY)


def aggregate_hours(visit_hours: DataFrame, zones: DataFrame, day: dt.date, hours: Sequence[LocalHour]) -> DataFrame:
    """footfall.zone_hourly_total before disclosure control: zone x local hour, full grid."""
    return _full_grid(
        visit_hours, _grid(zones, day, hours, by_cohort=False), F.col(STARTS_HERE), ZONE_HOURLY_TOTAL
    )


def aggregate_cohort_days(visits: DataFrame, zones: DataFrame, day: dt.date) -> DataFrame:
    """footfall.zone_daily before disclosure control: zone x local day x cohort, full grid.

    Every visit of the day counts in the day (visits are cut at local midnight), within the
    bound of bound_contributions."""
    return _full_grid(visits, _grid(zones, day, None, by_cohort=True), _counted(visits), ZONE_DAILY)


def aggregate_days(visits: DataFrame, zones: DataFrame, day: dt.date, estimates: DataFrame) -> DataFrame:
    """footfall.zone_daily_total before disclosure control: zone x local day over all cohorts,
    full grid, with the zone's dwell estimates (footfall.pipeline.dwell.zone_estimates: zone_set,
    zone_id, ESTIMATES; NULL for a zone without them)."""
    counts = _full_grid(visits, _grid(zones, day, None, by_cohort=False), _counted(visits), ZONE_DAILY_TOTAL)
    joined = counts.alias("c").join(
        estimates.alias("e"),
        (F.col(f"c.{C.ZONE_SET}") == F.col(f"e.{C.ZONE_SET}")) & (F.col(f"c.{C.ZONE_ID}") == F.col(f"e.{C.ZONE_ID}")),
        how="left",
    )
    return joined.select(*[
        F.col(f"e.{c}").alias(c) if c in ESTIMATES else F.col(f"c.{c}").alias(c)
        for c in (*grid_cols(ZONE_DAILY_TOTAL), *PRIVATE)
    ])


def aggregate_margins(cohort_days: DataFrame) -> DataFrame:
    """footfall.zone_daily_margins before disclosure control: per zone and day, the visitors by
    age band (gender `all`) and by gender (age band `all`), full grid.

    From zone_daily's cells before suppression (aggregate_cohort_days), not from the visits: a
    subscriber has one cohort, so the distinct visitors of an age band are the sum of its cohort
    cells' visitors, and so are a gender's."""
    keys = (C.ZONE_SET, C.ZONE_ID, C.EVENT_DATE)

    def margin(by: str, other: str) -> DataFrame:
        return cohort_days.groupBy(*keys, by).agg(F.sum(C.VISITORS).cast("long").alias(C.VISITORS)).withColumn(
            other, F.lit(MARGIN_ALL))

    names = grid_cols(ZONE_DAILY_MARGINS)
    return margin(C.AGE_BAND, C.GENDER).select(*names).unionByName(margin(C.GENDER, C.AGE_BAND).select(*names))


def aggregate_cohort_dayparts(visit_hours: DataFrame, zones: DataFrame, day: dt.date,
                              parts: Sequence[DayPart]) -> DataFrame:
    """footfall.zone_daypart before disclosure control: zone x day part x cohort, full grid.

    A subscriber is a visitor of every day part one of its visits overlaps (an hour of it), so a
    part's visitors are the union of its hours' visitors. Visitors only, like the margins: the
    visit metrics are the day's and the hours' (docs/definitions.md)."""
    literal = F.array(*[
        F.struct(F.lit(p.name).alias(C.DAY_PART),
                 F.timestamp_seconds(F.lit(int(p.start.replace(tzinfo=dt.UTC).timestamp()))).alias(C.PART_START),
                 F.lit(len(p.hours)).alias(C.PART_HOURS))
        for p in parts if p.hours
    ])
    grid = _grid(zones, day, None, by_cohort=True).withColumn(_HOURS, F.explode(literal)).select(
        "*", *[F.col(f"{_HOURS}.{c}").alias(c) for c in (C.DAY_PART, C.PART_START, C.PART_HOURS)]).drop(_HOURS)
    return _visitors(visit_hours, grid, [C.DAY_PART, C.AGE_BAND, C.GENDER], grid_cols(ZONE_DAYPART))


def _visitors(rows: DataFrame, grid: DataFrame, keys: Sequence[str], names: Sequence[str]) -> DataFrame:
    """Distinct subscribers of `rows` per cell of `grid` (its zone, date and `keys`), zero where
    nobody came, in the columns `names`."""
    keys = [C.ZONE_SET, C.ZONE_ID, C.EVENT_DATE, *keys]
    measured = rows.groupBy(*keys).agg(F.countDistinct(C.PSEUDO_ID).alias(C.VISITORS))
    return grid.join(measured, keys, "left").select(*[
        F.coalesce(F.col(c), F.lit(0)).cast("long").alias(c) if c == C.VISITORS else F.col(c) for c in names])


def aggregate_catchment(visits: DataFrame, zones: DataFrame, day: dt.date, homes: Sequence[str]) -> DataFrame:
    """footfall.zone_catchment before disclosure control: zone x day x home district, full grid
    over `homes` (the home districts of the day's subscriber snapshot, and unknown).

    A subscriber has one home district, so a zone's rows add up to its day's visitors
    (zone_daily_total); disclosure control relies on it (docs/privacy.md)."""
    grid = _grid(zones, day, None, by_cohort=False).withColumn(
        C.HOME_DISTRICT, F.explode(F.array(*[F.lit(h) for h in homes])))
    return _visitors(visits, grid, [C.HOME_DISTRICT], grid_cols(ZONE_CATCHMENT))


def aggregate_week(visits: DataFrame, zones: DataFrame, monday: dt.date, homes: Sequence[str]
                   ) -> dict[Table, DataFrame]:
    """The week release's grids before disclosure control, from the visits of the seven days of
    the ISO week starting `monday`: per zone, the distinct subscribers by cohort, in all, by age
    band and by gender, and by home district (`homes`), full grids. A subscriber has one cohort
    and home district all week (footfall.pipeline.visits.week_cohorts), so the margins are sums
    of cohort cells and the home districts add up to the total, as in a day."""
    week = visits.withColumn(C.EVENT_DATE, F.lit(monday))  # the week as one period of the day's grids
    cohorts = _visitors(week, _grid(zones, monday, None, by_cohort=True), [C.AGE_BAND, C.GENDER],
                        grid_cols(ZONE_DAILY_MARGINS))
    grids = {
        ZONE_WEEKLY: cohorts,
        ZONE_WEEKLY_TOTAL: _visitors(week, _grid(zones, monday, None, by_cohort=False), [], [
            C.ZONE_SET, C.ZONE_ID, C.EVENT_DATE, C.VISITORS]),
        ZONE_WEEKLY_MARGINS: aggregate_margins(cohorts),
        ZONE_WEEKLY_CATCHMENT: aggregate_catchment(week, zones, monday, homes),
    }
    return {t: g.withColumnRenamed(C.EVENT_DATE, C.WEEK_START).select(*grid_cols(t)) for t, g in grids.items()}
