"""footfall run end to end on generated data: counts add up, published cells respect k and
withstand the tests' attacker, the recovered visits match the generator's ground truth, and no
raw msisdn lands in any table.

The generated day runs in the session's shared catalog. Its district zone file is delivered as
zone set `e2e_districts` (the name `districts` belongs to the hand-made analyst day) and the
other zone files are not delivered: only districts are computed.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
import shapely
from attacker import leaks
from delta.tables import DeltaTable
from pyspark.sql import functions as F
from support import REFERENCE_DIR, make_config

from footfall.pipeline import run as pipeline_run
from footfall.privacy.pseudonym import epoch_key
from footfall.schemas import (
    ALL_TABLES,
    EVENTS,
    MARKET_SHARE,
    POPULATION,
    PUBLISHED_TABLES,
    RUNS,
    SUBSCRIBERS,
    VISITS,
    ZONE_CATCHMENT,
    ZONE_DAILY,
    ZONE_DAILY_MARGINS,
    ZONE_DAILY_TOTAL,
    ZONE_DAYPART,
    ZONE_HOURLY,
    ZONE_HOURLY_TOTAL,
    C,
)
from footfall.synthetic import job as generator
from footfall.synthetic.job import GenerateParams

pytestmark = pytest.mark.slow

DAY = dt.date(2026, 4, 18)  # a Saturday
ZONE_SET = "e2e_districts"
MASTER = "ab" * 32


@pytest.fixture(scope="module")
def day_run(spark, tmp_path_factory, catalog_claims, request):
    # load-reference replaces ref.cells as a whole: held until this module ends
    catalog_claims.claim_for(request, days=[DAY], zone_sets=[ZONE_SET], tables=["ref.cells"])
    cfg = make_config(tmp_path_factory.mktemp("e2e"))
    params = GenerateParams(first_date=DAY, subscribers=800, events_per_subscriber=80, seed=11)
    report = generator.run(spark, params, str(REFERENCE_DIR), cfg.path("landing_dir"),
                           cfg.path("truth_dir"), cfg.time_zone)
    zones = Path(cfg.path("landing_dir")) / "zones"
    (zones / "districts.geojson").rename(zones / f"{ZONE_SET}.geojson")
    for other in ("localities", "storefronts"):
        (zones / f"{other}.geojson").unlink()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(cfg.privacy.key_env, MASTER)
        pipeline_run.run(spark, cfg, DAY, [ZONE_SET])
    yield cfg, report
    # Leave no rows of this day in the shared catalog.
    for table in ALL_TABLES:
        for column in (C.EVENT_DATE, C.SNAPSHOT_DATE):
            if column in table.names:
                DeltaTable.forName(spark, table.name).delete(F.col(column) == F.lit(DAY))


def _manifest(spark, job):
    rows = spark.table(RUNS.name).where((F.col(C.JOB) == job) & (F.col(C.EVENT_DATE) == F.lit(DAY)))
    return rows.orderBy(F.desc(C.STARTED_AT)).first()


def _day(spark, table):
    return spark.table(table.name).where((F.col(C.EVENT_DATE) == F.lit(DAY)) & (F.col(C.ZONE_SET) == ZONE_SET))


def test_every_input_row_is_accounted_for_with_the_generators_reasons(spark, day_run):
    _, report = day_run
    counts = _manifest(spark, "ingest")[C.COUNTS]
    assert counts["in"] == report["events"]["rows"]
    faults = report["faults"]
    assert counts["accepted"] == faults["clean"]
    # A shifted row (an IMSI before the msisdn) has one field too many: malformed.
    assert counts.get("rejected.malformed", 0) == faults["malformed"] + faults["shifted_columns"]
    for reason in ("missing_field", "bad_timestamp", "outside_day", "bad_coordinates", "unknown_cell", "duplicate"):
        assert counts.get(f"rejected.{reason}", 0) == faults[reason], reason
    for generated, excluded in (("unknown_msisdn", "unknown_subscriber"), ("opted_out", "opted_out"),
                                ("m2m", "m2m"), ("under_18", "under_18")):
        assert counts.get(f"excluded.{excluded}", 0) == faults[generated], generated


def test_published_cells_have_at_least_k_visitors(spark, day_run):
    cfg, _ = day_run
    for table in PUBLISHED_TABLES:
        day = _day(spark, table)
        published = day.where(F.col(C.STATUS) == "published")
        if table is ZONE_HOURLY_TOTAL:  # 800 subscribers fill district totals, not cohort cells
            assert published.count() > 0
        assert published.where(F.col(C.VISITORS) < cfg.privacy.k).count() == 0, table.name
        assert day.where((F.col(C.STATUS) != "published") & F.col(C.VISITORS).isNotNull()).count() == 0
        # a population estimate exactly beside each published count
        assert day.where((F.col(C.STATUS) == "published") != F.col(C.VISITORS_EST).isNotNull()).count() == 0


def test_no_suppressed_cell_can_be_narrowed_below_k_by_the_seven_tables_together(spark, day_run):
    cfg, _ = day_run
    hourly, total, daily, day_total, margins, dayparts, catchment = (_day(spark, t).toPandas() for t in (
        ZONE_HOURLY, ZONE_HOURLY_TOTAL, ZONE_DAILY, ZONE_DAILY_TOTAL, ZONE_DAILY_MARGINS, ZONE_DAYPART, ZONE_CATCHMENT))
    assert (catchment["status"] == "published").any()
    assert leaks(hourly, total, daily, cfg.privacy.k, day_total, margins, dayparts, catchment=catchment) == []


STAY = [C.PSEUDO_ID, C.ZONE_ID, "start", "end"]


def _overlapped(stays: pd.DataFrame, visits: pd.DataFrame) -> pd.DataFrame:
    """The stays that a visit of the same subscriber and zone overlaps."""
    pairs = stays.merge(visits, on=[C.PSEUDO_ID, C.ZONE_ID])
    pairs = pairs[(pairs[C.VISIT_START] <= pairs["end"]) & (pairs[C.VISIT_END] >= pairs["start"])]
    return pairs[STAY].drop_duplicates()


def test_true_stays_with_an_event_inside_them_are_recovered(spark, day_run):
    """A true district stay of an included subscriber during which an accepted event of that
    subscriber lies in the district was observed there; the stay model (docs/definitions.md)
    places the stay by the centroid of its bursts, so a stay seen only near a district's edge may
    land in the neighbour: not every such stay is recovered by definition, but nearly every one
    of 15 minutes or more is (docs/accuracy.md measures the rates on a larger day; the floor here
    is a regression floor)."""
    cfg, _ = day_run
    truth = pd.read_parquet(Path(cfg.path("truth_dir")) / "visits")
    truth = truth[(truth["zone_set"] == "districts") & (pd.to_datetime(truth["event_date"]).dt.date == DAY)]
    key = epoch_key(bytes.fromhex(MASTER), DAY, cfg.privacy.key_epoch_days)
    stays = pd.DataFrame({
        C.PSEUDO_ID: truth["msisdn"].map(key.pseudonym), C.ZONE_ID: truth["zone_id"],
        "start": truth["start"].dt.tz_convert("UTC").dt.tz_localize(None),
        "end": truth["end"].dt.tz_convert("UTC").dt.tz_localize(None),
    })
    events = spark.table(EVENTS.name).where(F.col(C.EVENT_DATE) == F.lit(DAY)) \
        .select(C.PSEUDO_ID, C.EVENT_TIME, C.LON, C.LAT).toPandas()
    features = json.loads((Path(cfg.path("landing_dir")) / "zones" / f"{ZONE_SET}.geojson").read_text())["features"]
    in_zone = pd.concat([
        events[shapely.intersects_xy(shapely.geometry.shape(f["geometry"]), events[C.LON], events[C.LAT])]
        .assign(**{C.ZONE_ID: f["properties"]["zone_id"]}) for f in features])
    seen = stays.merge(in_zone, on=[C.PSEUDO_ID, C.ZONE_ID])
    seen = seen[(seen[C.EVENT_TIME] >= seen["start"]) & (seen[C.EVENT_TIME] <= seen["end"])]
    observable = seen[STAY].drop_duplicates()
    visits = _day(spark, VISITS).select(C.PSEUDO_ID, C.ZONE_ID, C.VISIT_START, C.VISIT_END).toPandas()
    found = observable.merge(_overlapped(observable, visits), how="left", indicator=True)
    long = ((found["end"] - found["start"]).dt.total_seconds() >= 15 * 60).to_numpy()
    share = found["_merge"].eq("both").to_numpy()[long].mean()
    assert share >= 0.95, (share, found[long & found["_merge"].eq("left_only").to_numpy()].head(20))
    # Something to find: every subscriber's day starts with hours at home, with ~80 events a
    # day, so at least half of the included subscribers have an observable stay.
    included = spark.table(SUBSCRIBERS.name).where(
        (F.col(C.SNAPSHOT_DATE) == F.lit(DAY)) & F.col(C.EXCLUDED_REASON).isNull()).select(C.PSEUDO_ID).toPandas()
    assert observable[C.PSEUDO_ID].nunique() >= len(included) / 2
    # For the record (docs/definitions.md, "How well visits match the truth"): the share of all
    # included subscribers' true stays that a visit overlaps, by stay length.
    stays = stays[stays[C.PSEUDO_ID].isin(included[C.PSEUDO_ID])]
    minutes = (stays["end"] - stays["start"]).dt.total_seconds() / 60
    hit = stays.merge(_overlapped(stays, visits), how="left", indicator=True)["_merge"].eq("both").to_numpy()
    for longer in (15, 60, 240):
        print(f"ground truth: stays >= {longer} min: {hit[minutes.to_numpy() >= longer].mean():.3f} recovered")


def test_no_raw_msisdn_in_any_table(spark, day_run):
    cfg, _ = day_run
    crm = spark.read.option("header", True).csv(str(Path(cfg.path("landing_dir")) / "subscribers"))
    msisdns = crm.select(F.col(C.MSISDN).alias("value")).distinct()
    for table in ALL_TABLES:
        df = spark.table(table.name)
        for column in (C.EVENT_DATE, C.SNAPSHOT_DATE):
            if column in df.columns:  # this run's day (the tables without a date: all of them)
                df = df.where(F.col(column) == F.lit(DAY))
        strings = [f.name for f in df.schema.fields if f.dataType.simpleString() == "string"]
        values = df.select(F.explode(F.array(*[F.col(c) for c in strings])).alias("value"))
        leaked = values.alias("v").join(msisdns.alias("m"), F.col("v.value") == F.col("m.value"), how="left_semi")
        assert leaked.count() == 0, table.name


@pytest.mark.usefixtures("day_run")
def test_catchment_counts_each_visitor_once_in_its_home_district(spark):
    """zone_catchment against restricted.visits: a published cell is the zone's distinct visitors
    living in the district, and a zone's districts (published or not) add up to its day's
    visitors, as the day's total publishes them (docs/definitions.md, "Catchment")."""
    visits = _day(spark, VISITS)
    exact = visits.groupBy(C.ZONE_ID, C.HOME_DISTRICT).agg(F.countDistinct(C.PSEUDO_ID).alias("exact"))
    catchment = _day(spark, ZONE_CATCHMENT)
    shown = catchment.where(F.col(C.STATUS) == "published").join(exact, [C.ZONE_ID, C.HOME_DISTRICT], "left")
    assert shown.count() > 0
    assert shown.where(~F.col(C.VISITORS).eqNullSafe(F.col("exact"))).count() == 0
    per_zone = exact.groupBy(C.ZONE_ID).agg(F.sum("exact").alias("homes")).join(
        visits.groupBy(C.ZONE_ID).agg(F.countDistinct(C.PSEUDO_ID).alias("visitors")), C.ZONE_ID)
    assert per_zone.count() > 0 and per_zone.where(F.col("homes") != F.col("visitors")).count() == 0
    # every home of the grid is a district of the generated postcodes (01..12) or unknown
    homes = {r[0] for r in catchment.select(C.HOME_DISTRICT).distinct().collect()}
    assert homes <= {f"{i:02d}" for i in range(1, 13)} | {"unknown"} and "unknown" in homes


def test_home_districts_match_the_generators_truth(spark, day_run):
    """The CRM postcode's district (ref.postcodes: the district most of the postcode's POIs lie
    in) against the district the generator placed the subscriber's home in: a postcode straddling
    two districts maps its minority side to the wrong one (docs/definitions.md measures the rate;
    this is a regression floor)."""
    cfg, _ = day_run
    truth = pd.read_parquet(Path(cfg.path("truth_dir")) / "subscribers")
    key = epoch_key(bytes.fromhex(MASTER), DAY, cfg.privacy.key_epoch_days)
    truth = pd.DataFrame({C.PSEUDO_ID: truth["msisdn"].map(key.pseudonym), "true": truth["district_id"]})
    mapped = spark.table(SUBSCRIBERS.name).where(F.col(C.SNAPSHOT_DATE) == F.lit(DAY)).select(
        C.PSEUDO_ID, C.HOME_DISTRICT).toPandas().merge(truth, on=C.PSEUDO_ID)
    known = mapped[mapped[C.HOME_DISTRICT] != "unknown"]
    assert len(mapped) > 700 and len(known) >= 0.95 * len(mapped)
    share = (known[C.HOME_DISTRICT] == known["true"]).mean()
    print(f"ground truth: home district of the postcode = true home district for {share:.3f}")
    assert share >= 0.95  # 0.985 on 30,000 generated subscribers


def test_population_estimates_are_the_published_counts_times_published_weights(spark, day_run):
    """visitors_est as an analyst recomputes it from the published tables and footfall.market_share
    alone (docs/definitions.md, "Population estimates"): the weights of all included subscribers
    add up to the residents, and each estimate of a day total or cohort cell is its visitors times
    the all-districts weight of its group, moved by each published catchment row's share of the
    published day total towards that district's weight."""
    shares = spark.table(MARKET_SHARE.name).where(F.col(C.SNAPSHOT_DATE) == F.lit(DAY)).toPandas()
    w = {(r[C.HOME_DISTRICT], r[C.AGE_BAND], r[C.GENDER]): r[C.WEIGHT] for _, r in shares.iterrows()}
    residents = spark.table(POPULATION.name).agg(F.sum(C.POPULATION)).first()[0]
    included = spark.table(SUBSCRIBERS.name).where(
        (F.col(C.SNAPSHOT_DATE) == F.lit(DAY)) & F.col(C.EXCLUDED_REASON).isNull()).count()
    assert residents > 3_000_000 and w[("all", "all", "all")] * included == pytest.approx(residents, rel=1e-9)

    total = _day(spark, ZONE_DAILY_TOTAL).where(F.col(C.STATUS) == "published").toPandas()
    catchment = _day(spark, ZONE_CATCHMENT).where(F.col(C.STATUS) == "published").toPandas()
    daily = _day(spark, ZONE_DAILY).where(F.col(C.STATUS) == "published").toPandas()
    assert len(total) > 0 and len(catchment) > 0

    def factor(zone: str, age: str, gender: str) -> float:
        t = total[total[C.ZONE_ID] == zone]
        base = w[("all", age, gender)]
        if t.empty:
            return base
        rows = catchment[catchment[C.ZONE_ID] == zone]
        shift = [r[C.VISITORS] / t[C.VISITORS].iloc[0] * (w.get((r[C.HOME_DISTRICT], age, gender), base) - base)
                 for _, r in rows.iterrows()]
        return base + sum(shift)

    for _, r in total.iterrows():
        assert r[C.VISITORS_EST] == pytest.approx(r[C.VISITORS] * factor(r[C.ZONE_ID], "all", "all"), rel=1e-9)
    for _, r in catchment.iterrows():
        assert r[C.VISITORS_EST] == pytest.approx(r[C.VISITORS] * w[(r[C.HOME_DISTRICT], "all", "all")], rel=1e-9)
    for _, r in daily.iterrows():
        assert r[C.VISITORS_EST] == pytest.approx(
            r[C.VISITORS] * factor(r[C.ZONE_ID], r[C.AGE_BAND], r[C.GENDER]), rel=1e-9)
