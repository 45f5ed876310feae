"""Every docs/examples/*.sql query runs on the hand-made tables, with the convenience views,
so the examples in docs/analysts.md stay valid when tables or views change."""

from pathlib import Path

import pytest
from support import ROOT
from unit.test_analyst_data import write_handmade

from footfall.analyst.catalog import VIEWS, spark_view_sql
from footfall.analyst.statements import split_statements

EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.sql"))


@pytest.fixture(scope="module")
def catalog(spark):
    write_handmade(spark)
    for view in VIEWS:
        spark.sql(spark_view_sql(view))
    return spark


def test_there_are_at_least_ten_examples():
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_query_runs_and_answers(catalog, path: Path):
    (statement,) = split_statements(path.read_text())
    rows = catalog.sql(statement).collect()
    assert rows, f"{path.name} answered nothing on the hand-made data"
