"""Spark plumbing of `footfall generate`: the tasks that each write one file, the accumulator of
their counts, and the renaming of Spark's part files to stable names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyspark.accumulators import AccumulatorParam

from footfall.errors import ConfigError
from footfall.synthetic.events import chunk_output
from footfall.synthetic.truth import truth_chunk
from footfall.synthetic.world import World


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
