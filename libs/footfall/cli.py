"""The `footfall` command: one subcommand per job, plus `doctor`.

`main(argv) -> int` parses, loads the config once, builds the session and calls the job's
`run`. Typed errors become one-line messages and documented exit codes (docs/operations.md).
The spark-submit entry points in jobs/ call this same `main`.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.metadata
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence

import footfall
from footfall.config import Config, load_config, parse_override
from footfall.errors import EXIT_OK, FootfallError

log = logging.getLogger("footfall")

Handler = Callable[[argparse.Namespace, Config], int]


def configure_logging() -> None:
    """The jobs' log format on stderr (footfall-step lines included); also used by the bench worker."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("py4j").setLevel(logging.WARNING)


def _where_footfall_loads(_rows: object) -> Iterator[tuple[str, str, str]]:
    """Where a Python worker imports footfall from: (module file, python, working folder)."""
    import footfall  # the worker's own import, not the driver's module

    yield footfall.__file__ or "", sys.executable, os.getcwd()


def cmd_doctor(args: argparse.Namespace, cfg: Config) -> int:
    """Print the whole stack and run a smoke query: a newcomer's first check."""
    from footfall.session import build_session

    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    print("java:      ", (java.stderr or java.stdout).splitlines()[0] if java.returncode == 0 else "not found")
    spark = build_session(cfg)
    jars = [j.rsplit("/", 1)[-1] for j in (spark.conf.get("spark.jars", "") or "").split(",") if j]

    def jar_version(prefix: str) -> str:
        names = [j for j in jars if j.startswith(prefix)]
        return names[0].removesuffix(".jar").rsplit("-", 1)[-1] if names else "supplied by spark-submit"

    print("spark:     ", spark.version)
    print("sedona:    ", "python", importlib.metadata.version("apache-sedona"), "| jar",
          jar_version("sedona-spark-shaded-"))
    print("delta:     ", "python", importlib.metadata.version("delta-spark"), "| jar", jar_version("delta-spark_"))
    print("jars:")
    for jar in jars:
        print("   ", jar)
    print("footfall:  ", importlib.metadata.version("footfall"), "from", footfall.__file__)
    # Two one-row tasks per core, spread over the executors registered by then: an executor whose
    # Python cannot import footfall (a missing or stale --archives) fails here rather than mid-job.
    tasks = 2 * spark.sparkContext.defaultParallelism
    for module, python, cwd in sorted(set(
        spark.sparkContext.parallelize(range(tasks), tasks).mapPartitions(_where_footfall_loads).collect()
    )):
        print("executor:   footfall from", module, "| python", python, "| cwd", cwd)
    print("config in effect (secrets are never in config):")
    print(json.dumps(cfg.masked(), indent=2, default=str))
    smoke = spark.sql(
        "SELECT ST_Contains(ST_GeomFromWKT('POLYGON((13.3 52.4, 13.5 52.4, 13.5 52.6, 13.3 52.6, 13.3 52.4))'),"
        " ST_Point(13.4, 52.5)) AS inside"
    ).first()
    with tempfile.TemporaryDirectory() as tmp:
        spark.range(3).write.format("delta").save(tmp + "/t")
        delta_rows = spark.read.format("delta").load(tmp + "/t").count()
    ok = smoke is not None and smoke["inside"] is True and delta_rows == 3
    print("smoke query:", "OK (Sedona ST_Contains true, Delta round trip 3 rows)" if ok else "FAILED")
    return EXIT_OK if ok else 70


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", help="config environment: local (default) or cluster")
    parser.add_argument("--conf-dir", help="folder with base.yaml and <env>.yaml (default ./conf)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config value, e.g. --set privacy.k=25 (repeatable)",
    )


# Subcommands implemented in library modules: (name, module, help). Each module defines
# `add_arguments(parser)` and `command(args, cfg) -> int`; imported only when used, so
# `footfall --help` stays fast and a module's heavy imports load only for its command.
JOB_COMMANDS = (
    ("generate", "footfall.synthetic.job", "generate a synthetic operator landing folder for Berlin"),
    ("load-reference", "footfall.pipeline.reference", "load zones, cells, subscribers and opt-outs"),
    ("ingest", "footfall.pipeline.ingest", "validate and pseudonymise one day of landing events"),
    ("compute", "footfall.pipeline.compute", "visits, cohort x hour aggregates, suppression, publish"),
    ("compute-week", "footfall.pipeline.compute_week", "the week release of seven published days (ISO week)"),
    ("run", "footfall.pipeline.run", "load-reference, ingest and compute for one day"),
    ("maintain", "footfall.pipeline.maintain", "erase restricted data beyond the retention, compact, vacuum"),
    ("sql", "footfall.analyst.sql", "SQL on the published tables: interactive shell, -e or -f"),
    ("thrift", "footfall.analyst.thrift", "start/stop the Spark Thrift (JDBC/ODBC) server on 127.0.0.1"),
    ("duckdb", "footfall.analyst.duck", "query the published Delta tables with DuckDB, without Spark"),
    ("report", "footfall.analyst.report", "offline HTML + PNG report of one day"),
)


def build_parser(wanted: str | None = None) -> argparse.ArgumentParser:
    """The parser; only the `wanted` job's module is imported to add its arguments."""
    parser = argparse.ArgumentParser(prog="footfall", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    doctor = sub.add_parser("doctor", help="print versions, jars and config; run a smoke query")
    _add_common(doctor)
    doctor.set_defaults(handler=cmd_doctor)
    for name, module_name, help_text in JOB_COMMANDS:
        job = sub.add_parser(name, help=help_text)
        _add_common(job)
        if name == wanted:
            module = importlib.import_module(module_name)
            module.add_arguments(job)
            job.set_defaults(handler=module.command)
    return parser


# Jobs whose Spark application is named after them (footfall-ingest, ...), as `submit.sh --name`
# does: the Spark UI, the event log and the history server tell the runs apart. The analyst
# commands keep their own names (footfall.analyst.catalog).
PIPELINE_JOBS = ("doctor", "generate", "load-reference", "ingest", "compute", "compute-week", "run", "maintain")


def with_job_app_name(cfg: Config, command: str) -> Config:
    """`spark.app_name` suffixed with the job, e.g. footfall-ingest; other commands unchanged."""
    if command not in PIPELINE_JOBS:
        return cfg
    return dataclasses.replace(cfg, spark=dataclasses.replace(cfg.spark, app_name=f"{cfg.spark.app_name}-{command}"))


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    try:
        overrides = dict(parse_override(o) for o in args.overrides)
        cfg = with_job_app_name(load_config(args.env, args.conf_dir, overrides), args.command)
        log.info("config: %s", json.dumps(cfg.masked(), default=str, sort_keys=True))
        handler: Handler = args.handler
        return handler(args, cfg)
    except FootfallError as exc:
        print(f"footfall {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
