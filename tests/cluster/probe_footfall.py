"""Submitted by test_submit.py: where the driver and the executors import footfall from."""

import json
import os
import sys

from pyspark.sql import SparkSession

import footfall


def where(_rows):
    import footfall  # the executor's own import, not the driver's module

    yield {"footfall": footfall.__file__, "python": sys.executable, "cwd": os.getcwd()}


if __name__ == "__main__":
    spark = SparkSession.builder.getOrCreate()
    # Four one-row partitions on two single-core executors: both executors answer.
    executors = spark.sparkContext.parallelize(range(4), 4).mapPartitions(where).collect()
    driver = {"footfall": footfall.__file__, "python": sys.executable, "cwd": os.getcwd()}
    print("probe-result " + json.dumps({"driver": driver, "executors": executors}))
    spark.stop()
