"""The population estimates' frame without Spark: the population.csv footfall generate writes
from the register (footfall.synthetic.reference.population_csv) and the checks load-reference
applies to a delivered one (footfall.landing.crm.population_strata)."""

import csv
import io

import pandas as pd
import pytest
import shapely
from support import REFERENCE_DIR

from footfall.errors import BadInputError
from footfall.landing.crm import population_strata
from footfall.synthetic.reference import Reference, load_reference, population_csv

BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")


def _register(district: str, gender: str, counts: dict[str, int], share_45_54: float) -> list[dict]:
    return [{"bezirk_id": district, "gender": gender, "age_band": band, "population": n, "share_45_54": share_45_54}
            for band, n in counts.items()]


def _rows(text: str) -> list[tuple[str, str, str, int]]:
    return [(r["district_id"], r["age_band"], r["gender"], int(r["population"]))
            for r in csv.DictReader(io.StringIO(text))]


def test_register_bands_sum_into_footfalls_and_45_64_is_split_by_the_localities_share():
    # 01 f: 18-24 = 3 + 7, 25-34 = 20 + 25, 35-44 = 30 + 35; 45-64 = 100 + 20 = 120 split 0.6:
    # 45-54 = 72, 55-64 = 48; 65+ = 50; the under-18 band is no resident of the frame.
    # 02 m: 45-64 = 30 + 10 = 40 split 7/12: 23.33 -> 45-54 = 23, 55-64 = 17.
    full = {"0-5": 999, "18-19": 3, "20-24": 7, "25-29": 20, "30-34": 25, "35-39": 30, "40-44": 35, "45-59": 100,
            "60-64": 20, "65+": 50}
    small = {**dict.fromkeys(full, 1), "45-59": 30, "60-64": 10}
    population = pd.DataFrame(_register("01", "f", full, 0.6) + _register("01", "m", small, 0.6)
                              + _register("02", "f", small, 7 / 12) + _register("02", "m", small, 7 / 12))
    empty = pd.DataFrame()
    rows = _rows(population_csv(Reference(empty, empty, empty, population, shapely.Point(0, 0))))
    assert rows[:12] == [
        ("01", "18-24", "F", 10), ("01", "18-24", "M", 2), ("01", "25-34", "F", 45), ("01", "25-34", "M", 2),
        ("01", "35-44", "F", 65), ("01", "35-44", "M", 2), ("01", "45-54", "F", 72), ("01", "45-54", "M", 24),
        ("01", "55-64", "F", 48), ("01", "55-64", "M", 16), ("01", "65+", "F", 50), ("01", "65+", "M", 1),
    ]
    assert ("02", "45-54", "M", 23) in rows and ("02", "55-64", "M", 17) in rows and len(rows) == 24


def test_the_berlin_frame_keeps_the_registers_adults_per_district_and_gender():
    ref = load_reference(REFERENCE_DIR)
    rows = _rows(population_csv(ref))
    assert len(rows) == 12 * 12 and population_strata((d, b, g, str(n)) for d, b, g, n in rows) == sorted(rows)
    register = ref.population
    adults = register[register["age_min"] >= 18]
    assert sum(n for *_, n in rows) == adults["population"].sum() == 3_263_305
    frame = pd.DataFrame(rows, columns=["district", "band", "gender", "n"])
    for (district, gender), group in adults.groupby(["bezirk_id", "gender"]):
        mine = frame[(frame["district"] == district) & (frame["gender"] == gender.upper())]
        assert mine["n"].sum() == group["population"].sum()
        middle = group[group["age_band"].isin(["45-59", "60-64"])]["population"].sum()
        assert mine[mine["band"].isin(["45-54", "55-64"])]["n"].sum() == middle


GOOD = [(" 01 ", b, g, "10") for b in BANDS for g in ("F", "M")]


def test_a_complete_file_is_read_trimmed_and_sorted():
    assert population_strata(reversed(GOOD)) == sorted(("01", b, g, 10) for b in BANDS for g in ("F", "M"))
    assert population_strata([]) == []


@pytest.mark.parametrize(("rows", "message"), [
    ([("01", "18-24", "F", "")], r"population.csv line 2: district_id, age_band, gender and population are all"),
    ([*GOOD, ("01", "15-17", "F", "3")], r"line 14: age_band '15-17' and gender 'F' are not a stratum"),
    ([("01", "18-24", "f", "3")], r"line 2: age_band '18-24' and gender 'f' are not a stratum"),
    ([("01", "18-24", "F", "-3")], r"line 2: population '-3' is not a whole number"),
    ([("01", "18-24", "F", "2.5")], r"line 2: population '2.5' is not a whole number"),
    ([*GOOD, ("01", "65+", "M", "10")], r"line 14: district 01, 65\+ M is given a second time"),
    (GOOD[:-1], r"district 01 lacks 65\+ M: give every district all 12 strata"),
])
def test_a_bad_row_refuses_the_file_naming_it(rows, message):
    with pytest.raises(BadInputError, match=message):
        population_strata(rows)
