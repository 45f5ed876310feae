"""footfall's Spark applications send nothing outside the operator's network: Sedona's usage
beacon (an HTTP request to sedona.gateway.scarf.sh from every session that registers Sedona) is
switched off on the driver and on the executors, also when the config brings Java options of
its own."""

from __future__ import annotations

from pathlib import Path

from support import make_config

from footfall.session import NO_TELEMETRY, spark_settings


def test_driver_and_executors_get_the_switch_and_keep_the_configs_own_java_options(tmp_path: Path) -> None:
    embedded = spark_settings(make_config(tmp_path))
    assert embedded["spark.driver.extraJavaOptions"] == (
        f"-DSCARF_NO_ANALYTICS=true -Dderby.system.home={tmp_path.resolve()}")
    assert embedded["spark.executor.extraJavaOptions"] == "-DSCARF_NO_ANALYTICS=true"
    own = {"spark.driver.extraJavaOptions": "-Xss4m", "spark.executor.extraJavaOptions": "-Dx=1 -Dy=2"}
    remote = spark_settings(make_config(tmp_path, **{"metastore.uri": "thrift://127.0.0.1:9083", "spark.conf": own}))
    assert remote["spark.driver.extraJavaOptions"] == f"{NO_TELEMETRY} -Xss4m"
    assert remote["spark.executor.extraJavaOptions"] == f"{NO_TELEMETRY} -Dx=1 -Dy=2"


def test_the_running_driver_has_the_beacon_switched_off(spark) -> None:
    """Sedona reads the switch as a system property of the JVM (or the environment variable)."""
    assert spark.sparkContext._jvm.java.lang.System.getProperty("SCARF_NO_ANALYTICS") == "true"
