"""`footfall run --date D`: load-reference, ingest and compute for one day, then a short summary.

This is what `make run` calls on the generated demo data. Each step is the same `run` function
its own subcommand uses, in one Spark session, so a rerun of the day replaces the day's rows.
"""

from __future__ import annotations

import argparse
import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from footfall.config import Config
from footfall.errors import EXIT_OK
from footfall.pipeline import compute, ingest, reference, release
from footfall.pipeline.utility import share, utility
from footfall.privacy.pseudonym import key_for
from footfall.schemas import RUNS, STATUS_PUBLISHED, ZONE_DAILY, ZONE_HOURLY, ZONES, C
from footfall.session import build_session

EXPLORE_SQL = """\
-- explore further (footfall sql -e "..."):
SELECT zone_id, local_hour, age_band, gender, visitors, status
  FROM footfall.zone_hourly WHERE zone_set = 'districts' AND event_date = DATE'{d}' ORDER BY visitors DESC LIMIT 20;
SELECT reason, count(*) FROM ops.rejected_events WHERE event_date = DATE'{d}' GROUP BY reason;
SELECT job, zone_set, status, duration_s, counts FROM ops.runs WHERE event_date = DATE'{d}';"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", required=True, type=dt.date.fromisoformat, help="local date YYYY-MM-DD")
    parser.add_argument("--zone-set", action="append", dest="zone_sets", help="zone set(s); default: all")
    compute.add_republish_argument(parser)


def command(args: argparse.Namespace, cfg: Config) -> int:
    key_for(cfg.privacy, args.date)  # a missing or short key fails before the session's start (seconds)
    spark = build_session(cfg)
    run(spark, cfg, args.date, args.zone_sets, args.republish)
    print(summary(spark, args.date))
    return EXIT_OK


def run(spark: SparkSession, cfg: Config, event_date: dt.date, zone_sets: list[str] | None = None,
        republish: bool = False) -> None:
    release.check_release(spark, cfg, event_date, zone_sets, republish)  # refuse before any work
    reference.run(spark, cfg, event_date)
    ingest.run(spark, cfg, event_date)
    compute.run(spark, cfg, event_date, zone_sets, republish)


def _latest_runs(spark: SparkSession, event_date: dt.date) -> DataFrame:
    runs = spark.table(RUNS.name).where(F.col(C.EVENT_DATE) == F.lit(event_date))
    latest = runs.groupBy(C.JOB, C.ZONE_SET).agg(F.max(C.STARTED_AT).alias("latest"))
    return runs.alias("r").join(
        latest.alias("l"),
        (F.col(f"r.{C.JOB}") == F.col(f"l.{C.JOB}"))
        & F.col(f"r.{C.ZONE_SET}").eqNullSafe(F.col(f"l.{C.ZONE_SET}"))
        & (F.col(f"r.{C.STARTED_AT}") == F.col("l.latest")),
        how="inner",
    ).select("r.*")


def _busiest(spark: SparkSession, event_date: dt.date, zone_set: str, n: int = 5) -> list[str]:
    """The n zones with most published daily visitors, with their largest published cohorts."""
    daily = spark.table(ZONE_DAILY.name).where(
        (F.col(C.EVENT_DATE) == F.lit(event_date)) & (F.col(C.ZONE_SET) == zone_set)
        & (F.col(C.STATUS) == STATUS_PUBLISHED)
    )
    zones = spark.table(ZONES.name).where(F.col(C.ZONE_SET) == zone_set).select(C.ZONE_ID, C.ZONE_NAME)
    per_zone = daily.groupBy(C.ZONE_ID).agg(
        F.sum(C.VISITORS).alias("published_visitors"),
        F.max_by(F.concat_ws(" ", C.GENDER, C.AGE_BAND), C.VISITORS).alias("top_cohort"),
    )
    rows = (
        per_zone.alias("p").join(zones.alias("z"), F.col(f"p.{C.ZONE_ID}") == F.col(f"z.{C.ZONE_ID}"), how="left")
        .orderBy(F.desc("published_visitors")).limit(n).collect()
    )
    return [
        f"    {r[C.ZONE_NAME] or r['zone_id']:<32} {r['published_visitors']:>8} visitors in published cohorts"
        f" (largest: {r['top_cohort']})"
        for r in rows
    ]


def information_loss(counts: dict[str, int]) -> str:
    """The share of zone_hourly cells and of visitor-hours that suppression withheld, from a
    compute run's counts, split into primary and secondary (the price of the LP protection)."""
    cells, visitors = counts["cells"], counts.get("visitors_total", 0)
    secondary_cells, secondary_visitors = counts.get("cells_suppressed_secondary", 0), counts.get(
        "visitors_in_secondary_cells", 0)
    return (f"information loss: {share(cells - counts.get('cells_published', 0), cells)} of cells suppressed "
            f"({share(secondary_cells, cells)}, {secondary_cells} cells, secondary), "
            f"{share(counts.get('visitors_in_suppressed_cells', 0), visitors)} of visitor-hours withheld "
            f"({share(secondary_visitors, visitors)}, {secondary_visitors}, by secondary)")


def visit_metrics_kept(counts: dict[str, int]) -> str | None:
    """How many cells with published visitors also publish their visit count and their dwell
    histogram, per table, from a compute run's counts; None for runs before these were counted."""
    if "total_cells_visits_withheld" not in counts:
        return None
    kept = []
    for prefix, name in (("total_cells", "hour totals"), ("daily_cells", "daily cohort cells"),
                         ("daily_total_cells", "day totals")):
        published = counts.get(f"{prefix}_published", 0)
        visits, histogram = (published - counts.get(f"{prefix}_{m}_withheld", 0) for m in ("visits", "histogram"))
        kept.append(f"{visits} / {histogram} of {published} {name}")
    return "visit counts / dwell histograms published in " + ", ".join(kept) + " with published visitors"


def summary(spark: SparkSession, event_date: dt.date) -> str:
    """A short printed summary of the day from ops.runs and the published tables."""
    lines = [f"footfall run {event_date.isoformat()}"]
    for row in _latest_runs(spark, event_date).orderBy(C.STARTED_AT).collect():
        counts = row[C.COUNTS] or {}
        shown = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
        where = f" [{row[C.ZONE_SET]}]" if row[C.ZONE_SET] else ""
        lines.append(f"  {row[C.JOB]}{where}: {row[C.STATUS]} in {row[C.DURATION_S]:.1f}s — {shown}")
        if row[C.JOB] == "compute" and counts.get("cells_dp"):
            lines.append("    privacy mode dp: every cell is a noisy count (docs/dp.md), nothing suppressed")
        elif row[C.JOB] == "compute" and counts.get("cells"):
            lines.append("    " + information_loss(counts))
            lines += [f"    {line}" for line in (visit_metrics_kept(counts), utility(counts)) if line]
    cells = (
        spark.table(ZONE_HOURLY.name).where(F.col(C.EVENT_DATE) == F.lit(event_date))
        .groupBy(C.ZONE_SET, C.STATUS).count().orderBy(C.ZONE_SET, C.STATUS).collect()
    )
    lines.append("  zone_hourly cells by status:")
    lines += [f"    {r[C.ZONE_SET]:<12} {r[C.STATUS]:<22} {r['count']:>9}" for r in cells]
    for zone_set, title in (("districts", "busiest districts"), ("storefronts", "busiest store fronts")):
        busiest = _busiest(spark, event_date, zone_set)
        if busiest:
            lines.append(f"  {title}:")
            lines += busiest
    lines.append(EXPLORE_SQL.format(d=event_date.isoformat()))
    return "\n".join(lines)
