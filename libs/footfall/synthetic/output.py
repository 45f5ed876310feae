"""Spark plumbing of `footfall generate`: the tasks that each write one file, the accumulator of
their counts, and the renaming of Spark's part files to stable names."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.accumulators import AccumulatorParam

from footfall.errors import ConfigError
from footfall.observe import step
from footfall.synthetic.events import chunk_output
from footfall.synthetic.truth import TRUTH_DDL, truth_chunk, truth_subscribers
from footfall.synthetic.vocabulary import EVENT_COLUMNS
from footfall.synthetic.world import Day, World


class CountsParam(AccumulatorParam):
    """Accumulator of {key: {name: int}}. Spark merges a result task's updates once, when the
    task first succeeds, so retried or speculative tasks do not double count."""

    def zero(self, value: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        return {}

    def addInPlace(self, a: dict[str, dict[str, int]], b: dict[str, dict[str, int]]
                   ) -> dict[str, dict[str, int]]:
        for key, counts in b.items():
            slot = a.setdefault(key, {})
            for name, v in counts.items():
                slot[name] = slot.get(name, 0) + v
        return a


def events_udf(bc: Any, acc: Any, day_idx: int) -> Any:
    def gen(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        w: World = bc.value
        day = w.days[day_idx]
        for b in batches:
            for c in b.column(0).to_pylist():
                batch, counts = chunk_output(w, day, int(c))
                acc.add({f"{day.date}/{int(c):05d}": counts})
                yield batch
    return gen


def truth_udf(bc: Any) -> Any:
    def gen(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        w: World = bc.value
        n_chunks = w.n_chunks()
        for b in batches:
            for task in b.column(0).to_pylist():
                day = w.days[int(task) // n_chunks]
                yield truth_chunk(w, day, w.chunk(int(task) % n_chunks))
    return gen


def local_folder(path: str) -> Path:
    if "://" in path and not path.startswith("file://"):
        raise ConfigError(f"footfall generate writes to a local or shared file system path, not {path}")
    return Path(path.removeprefix("file://"))


def finish_spark_dir(folder: Path, ext: str) -> list[str]:
    """Rename part-NNNNN-<uuid>...<ext> to part-NNNNN.<new ext>, drop _SUCCESS and .crc files."""
    names = []
    for f in sorted(folder.iterdir()):
        if f.name.startswith(".") or f.name.startswith("_"):
            f.unlink()
            continue
        part = f.name.split("-")[1]
        new = folder / f"part-{part}{ext}"
        f.rename(new)
        names.append(new.name)
    return sorted(names)


def write_event_files(spark: Any, bc: Any, land: Path, days: Sequence[Day], n_chunks: int,
                      fmt: str) -> dict[str, dict[str, int]]:
    """The events files of every day (one Spark task and file per chunk of subscribers), renamed
    to part-NNNNN; returns the counts of each file by its path below the landing folder."""
    acc = spark.sparkContext.accumulator({}, CountsParam())
    event_schema = "value string" if fmt == "csv" else ", ".join(f"{c} string" for c in EVENT_COLUMNS)
    files: dict[str, dict[str, int]] = {}
    for d, day in enumerate(days):
        out = land / "events" / f"date={day.date}"
        df = spark.range(0, n_chunks, 1, n_chunks).mapInArrow(events_udf(bc, acc, d), event_schema)
        with step("generate", f"events {day.date}", spark) as events_step:
            if fmt == "csv":
                df.write.mode("overwrite").option("compression", "gzip").text(str(out))
                names = finish_spark_dir(out, ".csv.gz")
            else:
                df.write.mode("overwrite").parquet(str(out))
                names = finish_spark_dir(out, ".parquet")
            counts = acc.value
            events_step.record(files=len(names))
        for name in names:
            part = name.split(".")[0].split("-")[1]
            files[f"events/date={day.date}/{name}"] = counts[f"{day.date}/{part}"]
    return files


def write_truth_files(spark: Any, bc: Any, tru: Path, n_tasks: int, subs: pd.DataFrame) -> None:
    """The ground truth: visits (one Spark task per chunk and day) and subscribers."""
    truth_df = spark.range(0, n_tasks, 1, n_tasks).mapInArrow(truth_udf(bc), TRUTH_DDL)
    # TIMESTAMP_MICROS (UTC-adjusted) rather than Spark's INT96, so pyarrow/DuckDB see UTC instants.
    previous = spark.conf.get("spark.sql.parquet.outputTimestampType")
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    try:
        with step("generate", "ground truth", spark):
            truth_df.write.mode("overwrite").parquet(str(tru / "visits"))
    finally:
        spark.conf.set("spark.sql.parquet.outputTimestampType", previous)
    finish_spark_dir(tru / "visits", ".parquet")
    (tru / "subscribers").mkdir()
    pq.write_table(pa.Table.from_pandas(truth_subscribers(subs), preserve_index=False),
                   tru / "subscribers" / "part-00000.parquet")
