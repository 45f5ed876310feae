"""footfall run end to end on generated data: counts add up, published cells respect k, the
recovered visits match the generator's ground truth, and no raw msisdn lands in any table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F
from support import REFERENCE_DIR, make_config

from footfall.pipeline import run as pipeline_run
from footfall.privacy.audit import audit_cells, to_long
from footfall.privacy.pseudonym import epoch_key
from footfall.schemas import (
    ALL_TABLES,
    PUBLISHED_TABLES,
    RUNS,
    SUBSCRIBERS,
    VISITS,
    ZONE_DAILY,
    ZONE_HOURLY,
    ZONE_HOURLY_TOTAL,
    C,
)
from footfall.synthetic import job as generator
from footfall.synthetic.job import GenerateParams

pytestmark = pytest.mark.slow

DAY = dt.date(2026, 4, 18)  # a Saturday no other test uses
MASTER = "ab" * 32
# Stated tolerance: the share of true district stays (of included subscribers) that a recovered
# visit of the same subscriber and district overlaps, by minimum stay length. Measured with this
# seed on 2026-11-29: 0.725 (>= 15 min), 0.785 (30), 0.855 (60), 0.904 (120), 0.931 (240).
# Positions are noisy and events bursty, so short stays can fall between events; why some long
# stays are missed is still open (see docs/definitions.md).
MIN_RECALL = {15: 0.70, 60: 0.85, 240: 0.90}


@pytest.fixture(scope="module")
def day_run(spark, tmp_path_factory):
    cfg = make_config(tmp_path_factory.mktemp("e2e"))
    params = GenerateParams(first_date=DAY, subscribers=800, events_per_subscriber=80, seed=11)
    report = generator.run(spark, params, str(REFERENCE_DIR), cfg.path("landing_dir"),
                           cfg.path("truth_dir"), cfg.time_zone)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(cfg.privacy.key_env, MASTER)
        pipeline_run.run(spark, cfg, DAY, ["districts"])
    yield cfg, report
    # The test session shares one catalog: leave no rows of this day for later tests to count.
    for table in ALL_TABLES:
        for column in (C.EVENT_DATE, C.SNAPSHOT_DATE):
            if column in table.names:
                DeltaTable.forName(spark, table.name).delete(F.col(column) == F.lit(DAY))


def _manifest(spark, job):
    rows = spark.table(RUNS.name).where((F.col(C.JOB) == job) & (F.col(C.EVENT_DATE) == F.lit(DAY)))
    return rows.orderBy(F.desc(C.STARTED_AT)).first()


def test_every_input_row_is_accounted_for_with_the_generators_reasons(spark, day_run):
    _, report = day_run
    counts = _manifest(spark, "ingest")[C.COUNTS]
    assert counts["in"] == report["events"]["rows"]
    assert counts["in"] == counts["accepted"] + counts["rejected"] + counts["excluded"]
    faults = report["faults"]
    assert counts["accepted"] == faults["clean"]
    for reason in ("malformed", "missing_field", "bad_timestamp", "outside_day", "bad_coordinates",
                   "unknown_cell", "duplicate"):
        assert counts.get(f"rejected.{reason}", 0) == faults[reason], reason
    for generated, excluded in (("unknown_msisdn", "unknown_subscriber"), ("opted_out", "opted_out"),
                                ("m2m", "m2m"), ("under_18", "under_18")):
        assert counts.get(f"excluded.{excluded}", 0) == faults[generated], generated


def test_published_cells_have_at_least_k_visitors(spark, day_run):
    cfg, _ = day_run
    for table in PUBLISHED_TABLES:
        day = spark.table(table.name).where((F.col(C.EVENT_DATE) == F.lit(DAY)) & (F.col(C.ZONE_SET) == "districts"))
        published = day.where(F.col(C.STATUS) == "published")
        if table is ZONE_HOURLY_TOTAL:  # 800 subscribers fill district totals, not cohort cells
            assert published.count() > 0
        assert published.where(F.col(C.VISITORS) < cfg.privacy.k).count() == 0, table.name
        assert day.where((F.col(C.STATUS) != "published") & F.col(C.VISITORS).isNotNull()).count() == 0


def test_no_suppressed_cell_can_be_narrowed_below_k_by_hourly_and_daily_together(spark, day_run):
    cfg, _ = day_run

    def frame(table):
        df = spark.table(table.name).where((F.col(C.EVENT_DATE) == F.lit(DAY)) & (F.col(C.ZONE_SET) == "districts"))
        return df.toPandas()

    cells = to_long(frame(ZONE_HOURLY), frame(ZONE_HOURLY_TOTAL), frame(ZONE_DAILY))
    assert audit_cells(cells, cfg.privacy.k, cross_table=True) == []


def test_recovered_visits_match_the_ground_truth(spark, day_run):
    cfg, _ = day_run
    truth = pd.read_parquet(Path(cfg.path("truth_dir")) / "visits")
    truth = truth[(truth["zone_set"] == "districts") & (pd.to_datetime(truth["event_date"]).dt.date == DAY)]
    key = epoch_key(bytes.fromhex(MASTER), DAY, cfg.privacy.key_epoch_days)
    truth = truth.assign(pseudo_id=truth["msisdn"].map(key.pseudonym)).drop(columns=["msisdn"])
    included = spark.table(SUBSCRIBERS.name).where(
        (F.col(C.SNAPSHOT_DATE) == F.lit(DAY)) & F.col(C.EXCLUDED_REASON).isNull()).select(C.PSEUDO_ID)
    stays = spark.createDataFrame(truth[["pseudo_id", "zone_id", "start", "end"]]).alias("t").join(
        included.alias("s"), F.col("t.pseudo_id") == F.col(f"s.{C.PSEUDO_ID}"), how="inner").select("t.*")
    visits = spark.table(VISITS.name).where((F.col(C.EVENT_DATE) == F.lit(DAY)) & (F.col(C.ZONE_SET) == "districts"))
    found = stays.alias("t").join(
        visits.alias("v"),
        (F.col("t.pseudo_id") == F.col(f"v.{C.PSEUDO_ID}")) & (F.col("t.zone_id") == F.col(f"v.{C.ZONE_ID}"))
        & (F.col(f"v.{C.VISIT_START}") <= F.col("t.end")) & (F.col(f"v.{C.VISIT_END}") >= F.col("t.start")),
        how="left_semi",
    )
    minutes = (F.unix_timestamp("end") - F.unix_timestamp("start")) / 60
    assert stays.count() > 500
    for longer, share in MIN_RECALL.items():
        total, recovered = stays.where(minutes >= longer).count(), found.where(minutes >= longer).count()
        print(f"ground truth: stays >= {longer} min: {recovered} of {total} recovered ({recovered / total:.3f})")
        assert recovered / total >= share, longer


def test_no_raw_msisdn_in_any_table(spark, day_run):
    cfg, _ = day_run
    crm = spark.read.option("header", True).csv(str(Path(cfg.path("landing_dir")) / "subscribers"))
    msisdns = crm.select(F.col(C.MSISDN).alias("value")).distinct()
    for table in ALL_TABLES:
        df = spark.table(table.name)
        strings = [f.name for f in df.schema.fields if f.dataType.simpleString() == "string"]
        values = df.select(F.explode(F.array(*[F.col(c) for c in strings])).alias("value"))
        leaked = values.alias("v").join(msisdns.alias("m"), F.col("v.value") == F.col("m.value"), how="left_semi")
        assert leaked.count() == 0, table.name
