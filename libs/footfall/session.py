"""The one SparkSession factory for every job and test.

Delta and Sedona SQL extensions, the Delta catalog, Kryo with Sedona's registrator, the jars that
`make jars` resolved, and SedonaContext.create. Local mode gets an embedded Derby metastore and a
warehouse under the data folder; on a cluster the master comes from spark-submit and the
metastore from `metastore.uri`.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from footfall.config import Config
from footfall.errors import SetupError

log = logging.getLogger(__name__)

# The jar families the stack cannot run without (see conf/pom.xml and conf/jars.txt).
REQUIRED_JAR_PREFIXES = ("sedona-spark-shaded-", "delta-spark_", "delta-storage-", "geotools-wrapper-")


def resolve_jars(jars_dir: str | None) -> list[Path]:
    """The jar files to put on spark.jars; refuses with a one-line hint when any is missing.

    jars_dir None means spark-submit already ships them (--jars), as on a cluster.
    """
    if jars_dir is None:
        return []
    folder = Path(jars_dir).resolve()
    jars = sorted(folder.glob("*.jar")) if folder.is_dir() else []
    missing = [p for p in REQUIRED_JAR_PREFIXES if not any(j.name.startswith(p) for j in jars)]
    if missing:
        raise SetupError(
            f"Sedona/Delta jars missing in {folder} ({', '.join(m.rstrip('-_') for m in missing)}): run `make setup`"
        )
    return jars


# Sedona's JVM library sends a usage beacon (OS, architecture, Java version) to an outside host
# (sedona.gateway.scarf.sh) whenever a session registers it, unless this property or environment
# variable says no. footfall addresses nothing outside the operator's network (docs/operations.md).
NO_TELEMETRY = "-DSCARF_NO_ANALYTICS=true"


def spark_settings(cfg: Config) -> dict[str, str]:
    """All Spark settings footfall needs, as plain strings (also used by `make submit` docs)."""
    data_dir = Path(cfg.paths.data_dir)
    settings = {
        "spark.app.name": cfg.spark.app_name,
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension,"
        "org.apache.sedona.sql.SedonaSqlExtensions",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.serializer": "org.apache.spark.serializer.KryoSerializer",
        "spark.kryo.registrator": "org.apache.sedona.core.serde.SedonaKryoRegistrator",
        # All timestamps are handled as UTC instants; local hours are derived explicitly.
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(cfg.spark.shuffle_partitions),
        "spark.databricks.delta.snapshotPartitions": str(cfg.spark.delta_snapshot_partitions),
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": str(cfg.spark.file_listing_parallelism),
        "spark.ui.showConsoleProgress": "false",
        # PySpark 4 otherwise records the Python call site of every Column and DataFrame call for
        # its error messages: a failed `import IPython` and five JVM round trips per F.col or
        # F.when. Building one day's disclosure control made 77,880 round trips with it
        # (docs/benchmarks.md); Spark's own errors still name the failing expression.
        "spark.python.sql.dataFrameDebugging.enabled": "false",
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": _absolute(cfg.path("warehouse_dir")),
    }
    driver_options = [NO_TELEMETRY]
    if cfg.metastore.uri:
        settings["spark.hadoop.hive.metastore.uris"] = cfg.metastore.uri
    else:
        metastore = _absolute(cfg.path("metastore_dir"))
        settings["spark.hadoop.javax.jdo.option.ConnectionURL"] = (
            f"jdbc:derby:;databaseName={metastore};create=true"
        )
        # Keeps derby.log inside the data folder instead of the working directory.
        driver_options.append(f"-Dderby.system.home={_absolute(str(data_dir))}")
    if cfg.spark.event_log_dir:
        settings["spark.eventLog.enabled"] = "true"
        settings["spark.eventLog.dir"] = _absolute(cfg.spark.event_log_dir)
    jars = resolve_jars(cfg.spark.jars_dir)
    if jars:
        settings["spark.jars"] = ",".join(str(j) for j in jars)
    settings.update(cfg.spark.conf)
    # Java options of the config come after footfall's own (the last of a repeated -D wins).
    for role, options in (("driver", driver_options), ("executor", [NO_TELEMETRY])):
        key = f"spark.{role}.extraJavaOptions"
        settings[key] = " ".join([*options, *([cfg.spark.conf[key]] if key in cfg.spark.conf else [])])
    return settings


def _absolute(path: str) -> str:
    if "://" in path:  # object-store or HDFS URI: leave as is
        return path
    return str(Path(path).resolve())


def build_session(cfg: Config) -> SparkSession:
    """Create (or return the running) SparkSession configured for footfall."""
    settings = spark_settings(cfg)
    if not shutil.which("java") and not _java_home_ok():
        raise SetupError("Java 17 is not on PATH: install OpenJDK 17 and set JAVA_HOME, then run `make setup`")
    if cfg.spark.event_log_dir and "://" not in cfg.spark.event_log_dir:
        Path(cfg.spark.event_log_dir).mkdir(parents=True, exist_ok=True)
    if not cfg.metastore.uri:
        Path(cfg.paths.data_dir).mkdir(parents=True, exist_ok=True)
    if cfg.spark.master and cfg.spark.master.startswith("local"):
        # Python workers (mapInPandas, pandas UDFs) must run this interpreter, which has footfall,
        # pandas and pyarrow; PySpark's default is whatever `python3` is first on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # A local-mode driver serves only this machine: it binds to loopback, not to the address
        # the host name resolves to (Spark's default, which can be a public interface).
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder
    if cfg.spark.master:  # on a cluster spark-submit decides; never override it there
        builder = builder.master(cfg.spark.master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.enableHiveSupport().getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    from sedona.spark import SedonaContext  # imported late: it needs the JVM classes

    try:
        return SedonaContext.create(spark)
    except Exception as exc:  # the JVM's answer to a missing class is a long trace
        if "ClassNotFound" in str(exc) or "NoClassDefFound" in str(exc):
            raise SetupError("Sedona classes not found on the classpath: run `make setup`") from None
        raise


def _java_home_ok() -> bool:
    import os

    home = os.environ.get("JAVA_HOME")
    return home is not None and Path(home, "bin", "java").exists()
