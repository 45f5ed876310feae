"""`footfall ingest --date D`: one local day of landing events into restricted.events.

Every delivered row ends in exactly one of three places: accepted (restricted.events), rejected
with a reason code (ops.rejected_events, pseudonymised and scrubbed) or excluded (counted, never
stored). The rows are read by footfall.landing.files and classified by footfall.landing.events;
this module runs them against the day's reference data and writes both tables. Reason codes and
rules: docs/ingest.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from sedona.spark.sql import st_aggregates as sta
from sedona.spark.sql import st_constructors as stc
from sedona.spark.sql import st_functions as stf

from footfall.config import Config
from footfall.errors import EXIT_OK, BadInputError
from footfall.landing.events import (
    ACCEPTED,
    BBox,
    accepted_events,
    block_offsets,
    classify_staged,
    for_writes,
    rejected_rows,
    stage_rows,
    status_counts,
    subscriber_lookup,
    summarise,
    with_source_row,
)
from footfall.landing.files import landing_read_errors, read_events
from footfall.localtime import local_day_start_utc
from footfall.manifest import recorded_run
from footfall.observe import step
from footfall.privacy.pseudonym import broadcast_key, key_for, pseudonym_map
from footfall.schemas import CELLS, EVENTS, REJECTED_EVENTS, SUBSCRIBERS, ZONES, C
from footfall.session import build_session
from footfall.tables import ensure_tables, replace_partition, table_version

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", required=True, type=dt.date.fromisoformat,
                        help="local date YYYY-MM-DD of the landing folder events/date=D")


def command(args: argparse.Namespace, cfg: Config) -> int:
    key_for(cfg.privacy, args.date)  # a missing or short key fails before the session's start (seconds)
    spark = build_session(cfg)
    run(spark, cfg, args.date)
    return EXIT_OK


def service_area(spark: SparkSession, margin_deg: float) -> BBox:
    """Bounding box of all loaded zones, widened by the margin."""
    envelope = spark.table(ZONES.name).select(
        sta.ST_Envelope_Aggr(stc.ST_GeomFromWKB(C.GEOMETRY)).alias("env")
    ).select(stf.ST_XMin("env"), stf.ST_YMin("env"), stf.ST_XMax("env"), stf.ST_YMax("env")).first()
    if envelope is None or envelope[0] is None:
        raise BadInputError("ref.zones is empty: run footfall load-reference first")
    min_x, min_y, max_x, max_y = (float(v) for v in envelope)
    return min_x - margin_deg, min_y - margin_deg, max_x + margin_deg, max_y + margin_deg


def _reference(spark: SparkSession, day: dt.date, key_id: str) -> tuple[DataFrame, DataFrame]:
    hint = f"run footfall load-reference --date {day.isoformat()} first"
    subscribers = spark.table(SUBSCRIBERS.name).where(F.col(C.SNAPSHOT_DATE) == F.lit(day))
    key_ids = [r[C.KEY_ID] for r in subscribers.select(C.KEY_ID).distinct().limit(2).collect()]
    if not key_ids:
        raise BadInputError(f"no subscriber snapshot for {day.isoformat()}: {hint}")
    if key_ids != [key_id]:
        raise BadInputError(f"the subscriber snapshot for {day.isoformat()} was pseudonymised with key "
                            f"{', '.join(key_ids)}, not the current {key_id}: {hint}")
    cells = spark.table(CELLS.name)
    if cells.isEmpty():
        raise BadInputError(f"ref.cells is empty: {hint}")
    return subscribers.select(C.PSEUDO_ID, C.EXCLUDED_REASON), cells


def run(spark: SparkSession, cfg: Config, day: dt.date) -> dict[str, int]:
    """Ingest local date `day`; returns the counts recorded in ops.runs."""
    key = key_for(cfg.privacy, day)  # a missing key fails before any work
    folder = Path(cfg.path("landing_dir"), "events", f"date={day.isoformat()}")
    ensure_tables(spark, (ZONES, CELLS, SUBSCRIBERS, EVENTS, REJECTED_EVENTS))
    day_start = local_day_start_utc(day, cfg.time_zone)
    day_end = local_day_start_utc(day + dt.timedelta(days=1), cfg.time_zone)
    parameters = {"landing": str(folder), "time_zone": cfg.time_zone, "key_id": key.key_id,
                  "service_area_margin_deg": cfg.ingest.service_area_margin_deg}
    with recorded_run(spark, cfg, "ingest", day, parameters=parameters) as rec:
        raw = read_events(spark, folder)
        subscribers, cells = _reference(spark, day, key.key_id)
        area = service_area(spark, cfg.ingest.service_area_margin_deg)
        rec.parameters["service_area"] = list(area)
        rec.input_versions.update({t.name: table_version(spark, t) for t in (ZONES, CELLS, SUBSCRIBERS)})
        with landing_read_errors():
            if raw.isEmpty():
                raise BadInputError(f"landing folder {folder} holds no event rows: check the export")
        bc = broadcast_key(spark, key)
        # The landing files are parsed once: the staged rows (trimmed text, partitioned by msisdn,
        # copy rank) are cached and feed the pseudonym lookup and the classification. Before, the
        # files were read for the lookup and again for each write, and the events shuffled for the
        # duplicate window and again for the lookup join. The rows are classified once too: the
        # classified rows, narrowed to what the writes read, are cached by the events write and
        # read again by the rejects write (before/after: docs/benchmarks.md).
        staged = raw.transform(stage_rows).persist(StorageLevel.MEMORY_AND_DISK)
        lookup = subscriber_lookup(pseudonym_map(staged, bc, key.key_id), subscribers).cache()
        classified = staged.transform(classify_staged, lookup, cells, day, day_start, day_end, area).transform(
            for_writes).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            observed, rejected_written = _write_rows(spark, classified, (staged, lookup), day, rec.run_id)
        finally:
            for df in (classified, lookup, staged):
                df.unpersist()
            bc.destroy()
        rec.counts.update(summarise(observed, rejected_written))
        log.info("ingest %s: %d rows in = %d accepted + %d rejected + %d excluded", day, rec.counts["in"],
                 rec.counts["accepted"], rec.counts["rejected"], rec.counts["excluded"])
        return rec.counts


def _write_rows(spark: SparkSession, classified: DataFrame, sources: tuple[DataFrame, ...], day: dt.date,
                run_id: str) -> tuple[dict[str, int], int]:
    """Accepted rows of the (persisted) `classified` rows to restricted.events, rejected ones with
    their position in the file to ops.rejected_events (each replacing the day); returns the rows
    per status observed on the way and the rejected rows written. `sources`: the cached inputs
    of the classification, released once the events write has cached the classified rows."""
    observed, written = Observation("ingest"), Observation("rejected")
    with step("ingest", "events", spark) as s, landing_read_errors():
        replace_partition(accepted_events(classified.observe(observed, *status_counts()), day),
                          EVENTS, {C.EVENT_DATE: day})
        s.record(rows_in=observed.get["in"], rows_out=observed.get[ACCEPTED])
    for df in sources:
        df.unpersist()
    with step("ingest", "rejected_events", spark) as s, landing_read_errors():
        rejects = rejected_rows(classified.transform(with_source_row, block_offsets(classified)), day, run_id)
        replace_partition(rejects.observe(written, F.count(F.lit(1)).alias("n")), REJECTED_EVENTS,
                          {C.EVENT_DATE: day})
        s.record(rows_in=observed.get["in"], rows_out=written.get["n"])
    return observed.get, written.get["n"]

