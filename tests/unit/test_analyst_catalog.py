"""The analyst catalog's pure parts, result formatting, and the column comments analysts read."""

import datetime as dt
from pathlib import Path

import pytest
from support import make_config

from footfall.analyst import catalog
from footfall.analyst.catalog import (
    config_from_json,
    config_to_json,
    refresh,
    refresh_statements,
    spark_submit_args,
)
from footfall.analyst.sql import run_statement
from footfall.analyst.statements import render, split_statements
from footfall.errors import BadInputError, SetupError
from footfall.schemas import ALL_TABLES, PUBLISHED_TABLES, ZONE_HOURLY_TOTAL

COLUMNS = ["zone_id", "local_hour", "visitors", "dwell_median_min", "status", "hour_start"]
ROWS = [
    ("01", 14, 80, 14.0, "published", dt.datetime(2026, 3, 14, 13, 0)),
    ("02", 15, None, None, "suppressed", dt.datetime(2026, 3, 14, 14, 0, tzinfo=dt.UTC)),
]


def test_split_statements_ignores_semicolons_in_quotes_and_comments():
    text = "SELECT 'a;b' AS x; -- a comment; still a comment\nSELECT `c;d` FROM t;\n\n;  "
    assert split_statements(text) == ["SELECT 'a;b' AS x", "SELECT `c;d` FROM t"]


def test_split_statements_drops_block_comments_and_keeps_hints_and_quoted_text():
    text = (
        "/* a header; with a semicolon */ SELECT /*+ BROADCAST(z) */ 1 AS n;\n"
        "SELECT 'it''s; -- not a comment' AS s, \"a;b\" FROM t /* trailing; */;\n"
        "/* only a comment; */ ;\n"
        "SELECT 2--no space before the comment\nFROM u"
    )
    assert split_statements(text) == [
        "SELECT /*+ BROADCAST(z) */ 1 AS n",
        "SELECT 'it''s; -- not a comment' AS s, \"a;b\" FROM t",
        "SELECT 2\nFROM u",
    ]


def test_render_table_aligns_numbers_right_and_spells_null():
    assert render(COLUMNS, ROWS, "table") == (
        "zone_id | local_hour | visitors | dwell_median_min | status     | hour_start\n"
        "--------+------------+----------+------------------+------------+--------------------\n"
        "01      |         14 |       80 |             14.0 | published  | 2026-03-14 13:00:00\n"
        "02      |         15 |     NULL |             NULL | suppressed | 2026-03-14 14:00:00\n"
        "(2 rows)\n"
    )


def test_render_csv_and_json_lines():
    assert render(COLUMNS, ROWS, "csv") == (
        "zone_id,local_hour,visitors,dwell_median_min,status,hour_start\n"
        "01,14,80,14.0,published,2026-03-14 13:00:00\n"
        "02,15,,,suppressed,2026-03-14 14:00:00\n"
    )
    assert render(COLUMNS, ROWS, "json") == (
        '{"zone_id": "01", "local_hour": 14, "visitors": 80, "dwell_median_min": 14.0, "status": "published", '
        '"hour_start": "2026-03-14 13:00:00"}\n'
        '{"zone_id": "02", "local_hour": 15, "visitors": null, "dwell_median_min": null, '
        '"status": "suppressed", "hour_start": "2026-03-14 14:00:00"}\n'
    )


def test_refresh_statements_register_tables_by_location_then_views():
    paths = {"footfall.zone_hourly_total": "file:/w/footfall.db/zone_hourly_total", "ref.zones": "file:/w/ref.db/zones"}
    statements = refresh_statements(paths)
    assert statements[:6] == [
        "CREATE SCHEMA IF NOT EXISTS footfall",
        "CREATE SCHEMA IF NOT EXISTS ref",
        "DROP TABLE IF EXISTS footfall.zone_hourly_total",
        "CREATE TABLE footfall.zone_hourly_total USING delta LOCATION 'file:/w/footfall.db/zone_hourly_total'",
        "DROP TABLE IF EXISTS ref.zones",
        "CREATE TABLE ref.zones USING delta LOCATION 'file:/w/ref.db/zones'",
    ]
    # only the views whose tables exist: zone_hourly_total_named and zone_daily_profile
    views = [s.split(" COMMENT ")[0] for s in statements[6:]]
    assert views == ["CREATE OR REPLACE VIEW footfall.zone_hourly_total_named",
                     "CREATE OR REPLACE VIEW footfall.zone_daily_profile"]
    assert not any("restricted" in s or "ops." in s for s in statements)


def test_refresh_runs_once_per_catalog_state(tmp_path: Path):
    cfg = make_config(tmp_path)
    catalog.analyst_paths(cfg).metastore.mkdir(parents=True)  # as if a session had created it
    ran: list[str] = []
    paths = {"ref.zones": "file:/w/ref.db/zones"}
    assert refresh(ran.append, cfg, paths) is True
    assert refresh(ran.append, cfg, paths) is False  # nothing changed: no statement runs
    assert len(ran) == len(refresh_statements(paths))
    assert refresh(ran.append, cfg, {**paths, "footfall.zone_daily": "file:/w/footfall.db/zone_daily"}) is True


def test_analyst_sessions_use_their_own_metastore_without_path_sql(tmp_path: Path):
    cfg = make_config(tmp_path)
    assert config_from_json(config_to_json(cfg)) == cfg
    args = spark_submit_args(cfg)
    confs = {args[i + 1].split("=", 1)[0]: args[i + 1].split("=", 1)[1] for i, a in enumerate(args) if a == "--conf"}
    assert args[:2] == ["--master", "local[2]"]
    analyst_db = tmp_path.resolve() / "analyst" / "metastore_db"
    assert confs["spark.hadoop.javax.jdo.option.ConnectionURL"] == f"jdbc:derby:;databaseName={analyst_db};create=true"
    assert confs["spark.sql.runSQLOnFiles"] == "false"
    assert confs["spark.sql.extensions"].startswith("io.delta.sql.DeltaSparkSessionExtension")


def test_every_column_comment_fits_the_hive_metastore():
    """The Hive metastore keeps a view's column comments in COLUMNS_V2.COMMENT, VARCHAR(256). A longer
    one makes each CREATE VIEW over the table fail inside the metastore and retry for 20 s
    (hive.hmshandler.retry: 10 x 2 s) before Spark gives up on the comment: seen with visitors_est."""
    long = [(t.name, f.name, len(f.metadata.get("comment", ""))) for t in ALL_TABLES for f in t.struct.fields
            if len(f.metadata.get("comment", "")) > 256]
    assert long == []


@pytest.fixture(scope="module")
def handmade(handmade_day):
    return handmade_day


def test_every_published_column_has_a_comment_in_describe_extended(handmade):
    spark = handmade
    for table in PUBLISHED_TABLES:
        rows = spark.sql(f"DESCRIBE TABLE EXTENDED {table.name}").collect()
        comments = {r["col_name"]: r["comment"] for r in rows[: len(table.columns)]}
        assert list(comments) == table.names
        assert all(comments.values()), [n for n, c in comments.items() if not c]


@pytest.mark.parametrize(("fmt", "expected"), [
    ("table",
     "zone_id | local_hour | visitors | status     | hour_start\n"
     "--------+------------+----------+------------+--------------------\n"
     "01      |         14 |       80 | published  | 2026-03-14 13:00:00\n"
     "02      |         15 |     NULL | suppressed | 2026-03-14 14:00:00\n"
     "(2 rows)\n"),
    ("csv",
     "zone_id,local_hour,visitors,status,hour_start\n"
     "01,14,80,published,2026-03-14 13:00:00\n"
     "02,15,,suppressed,2026-03-14 14:00:00\n"),
    ("json",
     '{"zone_id": "01", "local_hour": 14, "visitors": 80, "status": "published", "hour_start": "2026-03-14 13:00:00"}\n'
     '{"zone_id": "02", "local_hour": 15, "visitors": null, "status": "suppressed", '
     '"hour_start": "2026-03-14 14:00:00"}\n'),
])
def test_sql_output_formats_on_a_hand_made_table(handmade, fmt, expected):
    query = (f"SELECT zone_id, local_hour, visitors, status, hour_start FROM {ZONE_HOURLY_TOTAL.name} "
             "WHERE zone_set = 'districts' AND zone_id IN ('01', '02') AND local_hour = 14 + int(zone_id) - 1 "
             "AND event_date = DATE'2026-03-14' "
             "ORDER BY zone_id")
    assert run_statement(handmade, query, fmt) == expected


def test_table_paths_are_asked_again_only_while_an_analyst_table_is_missing(tmp_path: Path, monkeypatch):
    """A catalog located before zone_daily_margins and market_share existed is located again once
    (the helper JVM, here a stand-in that writes what `locate` would find); a complete one never."""
    cfg = make_config(tmp_path)
    everything = {t.name: f"file:/w/{t.name.replace('.', '.db/')}" for t in catalog.ANALYST_TABLES}
    before_margins = {name: path for name, path in everything.items()
                      if name not in ("footfall.zone_daily_margins", "footfall.market_share")}
    asked: list[str] = []

    def locate(action: str, _cfg) -> None:
        asked.append(action)
        catalog.save_table_paths(cfg, everything)

    monkeypatch.setattr(catalog, "_run_helper", locate)
    catalog.save_table_paths(cfg, before_margins)
    assert catalog.ensure_table_paths(cfg) == everything
    assert asked == ["locate"]
    assert catalog.ensure_table_paths(cfg) == everything
    assert asked == ["locate"]  # complete now: no helper


def test_no_published_table_after_locating_is_a_clear_error(tmp_path: Path, monkeypatch):
    cfg = make_config(tmp_path)
    monkeypatch.setattr(catalog, "_run_helper", lambda action, _cfg: catalog.save_table_paths(cfg, {}))
    with pytest.raises(BadInputError, match="no published tables yet: run `make run`"):
        catalog.ensure_table_paths(cfg)


def test_a_failed_locate_keeps_the_known_tables_and_says_which_are_missing(tmp_path: Path, monkeypatch, caplog):
    """A job holds the embedded metastore, so the helper cannot ask it: the four tables located
    before are still queried (a warning names the missing one); with none known it is an error."""
    cfg = make_config(tmp_path)
    known = {t.name: f"file:/w/{t.name}" for t in PUBLISHED_TABLES if t.name != "footfall.zone_daily_margins"}

    def busy(action: str, _cfg) -> None:
        raise SetupError(f"could not {action}")

    monkeypatch.setattr(catalog, "_run_helper", busy)
    catalog.save_table_paths(cfg, known)
    assert catalog.ensure_table_paths(cfg) == known
    assert "could not locate; going on without footfall.zone_daily_margins" in caplog.text
    catalog.save_table_paths(cfg, {})
    with pytest.raises(SetupError, match="could not locate"):
        catalog.ensure_table_paths(cfg)
