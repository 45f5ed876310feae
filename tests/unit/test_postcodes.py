"""The catchment's inputs without Spark: the checks on postcodes.csv (footfall.landing.crm.
postcode_districts) and the list footfall generate derives from the POIs
(footfall.synthetic.reference.postcodes_csv)."""

from __future__ import annotations

import pandas as pd
import pytest
import shapely

from footfall.errors import BadInputError
from footfall.landing.crm import postcode_districts
from footfall.synthetic.reference import Reference, postcodes_csv


def test_postcodes_are_trimmed_and_a_repeated_row_counts_once():
    rows = [("10115", "01"), (" 10117 ", " 02 "), ("10115", "01")]
    assert postcode_districts(rows) == [("10115", "01"), ("10117", "02")]


@pytest.mark.parametrize(("rows", "message"), [
    # the header is line 1: the second data row is line 3
    ([("10115", "01"), ("", "02")], r"postcodes.csv line 3: postcode and district_id are both required"),
    ([("10115", None)], r"postcodes.csv line 2: .*got '10115', None"),
    ([("10115", "01"), ("10115", "02")], r"postcode 10115 two districts \(01 and 02\): keep the one it mostly"),
])
def test_a_bad_row_refuses_the_file_naming_it(rows, message):
    with pytest.raises(BadInputError, match=message):
        postcode_districts(rows)


def _reference(pois: list[tuple[str, str]]) -> Reference:
    """Only the POIs (zip_code, plr_id) matter to postcodes_csv."""
    frame = pd.DataFrame(pois, columns=["zip_code", "plr_id"])
    empty = pd.DataFrame()
    return Reference(empty, empty, frame, empty, shapely.Point(0, 0))


def test_each_zip_code_gets_the_district_most_of_its_pois_lie_in():
    # 10115: two POIs in 01, one in 02 -> 01. 10245: one each in 02 and 05, a tie -> the smaller
    # id, 02. 12345: a planning area id that lost its leading zero (1100312 is 01100312) -> 01.
    # "1011" and "D-10115" are no five-digit zip codes: left out.
    pois = [("10115", "01100312"), ("10115", "01200420"), ("10115", "02400721"),
            ("10245", "05100101"), ("10245", "02500833"), ("12345", "1100312"),
            ("1011", "03000000"), ("D-10115", "04000000")]
    assert postcodes_csv(_reference(pois)) == "postcode,district_id\n10115,01\n10245,02\n12345,01\n"
