"""CPU, peak memory and Spark spill of one measured stage, for the whole process tree.

The CPU of a stage is the sum over every process of the tree (this Python process, the JVM it
launched, PySpark's Python workers, DuckDB's/SedonaDB's threads are inside this process) of
user + system time spent between `start()` and `stop()`. A sampler thread reads /proc through
psutil every `interval` seconds, so a process that starts and ends between two samples is
missed (with reused PySpark workers these are rare); processes alive at start contribute only
their CPU after start. Peak memory is the largest sum of RSS over the tree seen by a sample.
psutil is used because the standard library's `resource.getrusage(RUSAGE_CHILDREN)` only counts
children that have exited and been waited for: the JVM is still running while we measure.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import psutil


def _tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


@dataclass
class Measurement:
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_bytes: int = 0
    processes_seen: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class TreeMonitor:
    """Samples CPU and RSS of this process and all its descendants."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.root = psutil.Process(os.getpid())
        self._base: dict[tuple[int, float], float] = {}  # (pid, create_time) -> cpu at start
        self._last: dict[tuple[int, float], float] = {}
        self._peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._t0 = 0.0
        self.result = Measurement()

    def _sample(self, first: bool = False) -> None:
        rss = 0
        for proc in _tree(self.root):
            try:
                with proc.oneshot():
                    key = (proc.pid, proc.create_time())
                    times = proc.cpu_times()
                    cpu = times.user + times.system
                    rss += proc.memory_info().rss
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
            with self._lock:
                if first:
                    self._base[key] = cpu
                else:
                    # a process born after start() counts from zero
                    self._base.setdefault(key, 0.0)
                self._last[key] = cpu
        self._peak = max(self._peak, rss)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> TreeMonitor:
        self._sample(first=True)
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._loop, name="bench-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> Measurement:
        wall = time.perf_counter() - self._t0
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        with self._lock:
            cpu = sum(self._last[k] - self._base.get(k, 0.0) for k in self._last)
            seen = len(self._last)
        self.result = Measurement(wall_s=wall, cpu_s=cpu, peak_rss_bytes=self._peak, processes_seen=seen)
        return self.result


def spark_spill(spark: Any, attempts: int = 4, timeout: float = 120.0) -> dict[str, int]:
    """Spill and shuffle bytes summed over all stages of the application, from Spark's REST API
    (the same numbers the UI's stage page shows); -1 when the UI is disabled or does not answer
    (on a machine under heavy load it can take minutes: a benchmark is not failed for that)."""
    unknown = {"memory_bytes_spilled": -1, "disk_bytes_spilled": -1, "shuffle_write_bytes": -1}
    url = spark.sparkContext.uiWebUrl
    if not url:
        return unknown
    app = spark.sparkContext.applicationId
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(f"{url}/api/v1/applications/{app}/stages?status=complete",
                                        timeout=timeout) as resp:
                stages = json.load(resp)
            break
        except OSError:
            time.sleep(2.0 * (attempt + 1))
    else:
        return unknown
    return {
        "memory_bytes_spilled": sum(int(s.get("memoryBytesSpilled", 0)) for s in stages),
        "disk_bytes_spilled": sum(int(s.get("diskBytesSpilled", 0)) for s in stages),
        "shuffle_write_bytes": sum(int(s.get("shuffleWriteBytes", 0)) for s in stages),
        "stages": len(stages),
    }
