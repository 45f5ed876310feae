"""footfall.observe: the one-line step summaries operators grep for."""

from __future__ import annotations

import logging
import time

import pytest

from footfall.observe import format_step_line, parse_step_line, step


def test_step_logs_one_parseable_line_with_counts_and_time(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="footfall.step")
    t0 = time.monotonic()
    with step("ingest", "validate", zone_set="districts") as s:
        s.record(rows_in=1000, rows_out=990)
        time.sleep(0.2)
    wall = time.monotonic() - t0
    lines = [r.getMessage() for r in caplog.records if r.name == "footfall.step"]
    assert len(lines) == 1
    assert lines[0].startswith("footfall-step job=ingest step=validate zone_set=districts rows_in=1000 rows_out=990 ")
    fields = parse_step_line("2026-03-14 10:00:00 INFO footfall.step: " + lines[0])
    assert fields is not None
    assert {k: v for k, v in fields.items() if k != "seconds"} == {
        "job": "ingest", "step": "validate", "zone_set": "districts", "rows_in": "1000", "rows_out": "990",
        "status": "ok",
    }
    # the step's time: the 0.2 s it slept at least, at most the wall time around it (3 decimals)
    assert 0.2 <= float(fields["seconds"]) <= round(wall, 3) + 0.0005


def test_failed_step_logs_status_and_error_type_then_reraises(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="footfall.step")
    with pytest.raises(ZeroDivisionError), step("compute", "aggregate") as s:
        s.record(rows_in=5)
        _ = 1 / 0
    fields = parse_step_line(caplog.records[-1].getMessage())
    assert fields is not None
    assert (fields["rows_in"], fields["status"], fields["error"]) == ("5", "failed", "ZeroDivisionError")


def test_values_with_spaces_round_trip_and_reserved_names_are_refused() -> None:
    line = format_step_line("generate", "write files", {"path": "/tmp/a b", "ok": True, "none": None, "share": 0.5})
    assert line == "footfall-step job=generate step='write files' path='/tmp/a b' ok=true none=null share=0.500"
    assert parse_step_line(line) == {
        "job": "generate", "step": "write files", "path": "/tmp/a b", "ok": "true", "none": "null", "share": "0.500",
    }
    assert parse_step_line("INFO something else") is None
    with pytest.raises(ValueError, match="seconds"), step("ingest", "x") as s:
        s.record(seconds=3)
    with pytest.raises(ValueError, match="lower_snake_case"), step("ingest", "x") as s:
        s.record(RowsIn=3)


def test_spark_jobs_inside_a_step_carry_its_description(spark) -> None:
    context = spark.sparkContext
    with step("compute", "aggregate", spark):
        assert context.getLocalProperty("spark.job.description") == "footfall compute: aggregate"
        spark.range(3).count()
    assert context.getLocalProperty("spark.job.description") is None
