"""The CRM snapshot (subscribers.csv) and the opt-outs (optouts.csv) as Spark transforms: age
band, normalised attributes, one row per msisdn, and why a subscriber is excluded; and the checks
on the two small reference lists beside it, postcodes.csv and population.csv."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from footfall.errors import BadInputError
from footfall.landing.files import parse_timestamp
from footfall.privacy.pseudonym import normalised_msisdn
from footfall.schemas import AGE_BANDS, EXCLUDED_M2M, EXCLUDED_MINOR, EXCLUDED_OPTED_OUT, HOME_UNKNOWN, C

SUBSCRIBER_COLUMNS = (C.MSISDN, C.BIRTH_DATE, C.GENDER, C.CONTRACT_TYPE, C.POSTCODE)
OPTOUT_COLUMNS = (C.MSISDN, C.OPTED_OUT_AT)
POSTCODE_COLUMNS = (C.POSTCODE, "district_id")
POPULATION_COLUMNS = ("district_id", C.AGE_BAND, C.GENDER, C.POPULATION)
# The strata population.csv gives per district: the known age bands x F/M.
POPULATION_STRATA = [(band, gender) for band in AGE_BANDS if band != "unknown" for gender in ("F", "M")]
# Plausible ages; a birth date implying an age outside this range is treated as unknown.
MAX_AGE = 120


def with_age_band(df: DataFrame, day: dt.date) -> DataFrame:
    """age_band from birth_date (YYYY-MM-DD) at `day`; unknown when missing, unparseable or implausible."""
    born = F.try_to_timestamp(F.trim(C.BIRTH_DATE), F.lit("yyyy-MM-dd")).cast("date")
    had_birthday = (F.month(born) < day.month) | ((F.month(born) == day.month) & (F.dayofmonth(born) <= day.day))
    age = F.lit(day.year) - F.year(born) - F.when(had_birthday, 0).otherwise(1)
    band = (
        F.when(born.isNull() | (age < 0) | (age > MAX_AGE), "unknown")
        .when(age < 18, "under_18")
        .when(age < 25, "18-24").when(age < 35, "25-34").when(age < 45, "35-44")
        .when(age < 55, "45-54").when(age < 65, "55-64").otherwise("65+")
    )
    return df.withColumn(C.AGE_BAND, band)


def with_normalised_attributes(df: DataFrame) -> DataFrame:
    """gender -> F | M | unknown, contract_type -> consumer | business | m2m | unknown."""
    gender = F.upper(F.trim(C.GENDER))
    contract = F.lower(F.trim(C.CONTRACT_TYPE))
    return df.withColumn(
        C.GENDER,
        F.when(gender.isin("F", "FEMALE", "W", "WEIBLICH"), "F").when(gender.isin("M", "MALE", "MAENNLICH"), "M")
        .otherwise("unknown"),
    ).withColumn(
        C.CONTRACT_TYPE,
        F.when(contract.isin("consumer", "business", "m2m"), contract).when(contract == "iot", "m2m")
        .otherwise("unknown"),
    )


def dedupe_subscribers(df: DataFrame) -> DataFrame:
    """One row per normalised msisdn: the smallest (birth_date, gender, contract_type, postcode),
    so a rerun keeps the same one. Rows without an msisdn are dropped."""
    attrs = (C.BIRTH_DATE, C.GENDER, C.CONTRACT_TYPE, C.POSTCODE)
    kept = F.min(F.struct(*[F.coalesce(F.col(a), F.lit("")) for a in attrs], *attrs)).alias("kept")
    return (
        df.withColumn(C.MSISDN, normalised_msisdn(F.col(C.MSISDN))).where(F.col(C.MSISDN).isNotNull())
        .groupBy(C.MSISDN).agg(kept).select(C.MSISDN, *[F.col(f"kept.{a}").alias(a) for a in attrs])
    )


def opted_out_before(optouts: DataFrame, day_start_utc: dt.datetime) -> DataFrame:
    """Normalised msisdns whose opt-out applies on the day starting at `day_start_utc`.

    An opt-out applies from the first run after it: opted_out_at before the start of the local
    day. A row without a readable time applies too (when in doubt, leave the person out).
    """
    at = parse_timestamp(C.OPTED_OUT_AT)
    return (
        optouts.withColumn(C.MSISDN, normalised_msisdn(F.col(C.MSISDN)))
        .where(F.col(C.MSISDN).isNotNull() & (at.isNull() | (at < F.lit(day_start_utc))))
        .select(C.MSISDN).distinct()
    )


def with_excluded_reason(subscribers: DataFrame, opted_out: DataFrame) -> DataFrame:
    """excluded_reason: opted_out, else m2m, else under_18, else NULL; under_18 becomes age band unknown
    (excluded rows never reach a cohort, and the table's bands are the published ones)."""
    flagged = subscribers.alias("s").join(
        F.broadcast(opted_out.withColumn("opted_out", F.lit(True)).alias("o")),
        F.col(f"s.{C.MSISDN}") == F.col(f"o.{C.MSISDN}"), how="left",
    ).select("s.*", F.coalesce(F.col("o.opted_out"), F.lit(False)).alias("opted_out"))
    reason = (
        F.when(F.col("opted_out"), EXCLUDED_OPTED_OUT)
        .when(F.col(C.CONTRACT_TYPE) == "m2m", EXCLUDED_M2M)
        .when(F.col(C.AGE_BAND) == "under_18", EXCLUDED_MINOR)
    )
    return (
        flagged.withColumn(C.EXCLUDED_REASON, reason)
        .withColumn(C.AGE_BAND, F.when(F.col(C.AGE_BAND) == "under_18", "unknown").otherwise(F.col(C.AGE_BAND)))
        .drop("opted_out")
    )


def postcode_districts(rows: Iterable[tuple[str | None, str | None]]) -> list[tuple[str, str]]:
    """ref.postcodes rows (postcode, home_district) from postcodes.csv's (postcode, district_id),
    both trimmed; a row repeated as it is counts once. A row without a postcode or a district, or
    a postcode given two districts, refuses the file: a subscriber's catchment must not depend
    on which row wins."""
    found: dict[str, str] = {}
    for line, (postcode, district) in enumerate(rows, start=2):
        code, home = (postcode or "").strip(), (district or "").strip()
        if not code or not home:
            raise BadInputError(f"postcodes.csv line {line}: postcode and district_id are both required "
                                f"(got {postcode!r}, {district!r}); fix or drop the row")
        if found.setdefault(code, home) != home:
            raise BadInputError(f"postcodes.csv gives postcode {code} two districts ({found[code]} and {home}): "
                                "keep the one it mostly lies in")
    return sorted(found.items())


def population_strata(rows: Iterable[tuple[str | None, ...]]) -> list[tuple[str, str, str, int]]:
    """ref.population rows (district, age band, gender, residents) from population.csv, fields
    trimmed. A blank field, an age band or gender outside footfall's cohorts, a count that is not
    a whole number from 0, a stratum given twice, or a district without all of its strata refuses
    the file: the weights of visitors_est assume every district's residents are all there."""
    found: dict[tuple[str, str, str], int] = {}
    for line, row in enumerate(rows, start=2):
        district, band, gender, residents = ((v or "").strip() for v in row)
        where = f"population.csv line {line}"
        if not (district and band and gender and residents):
            raise BadInputError(f"{where}: district_id, age_band, gender and population are all required "
                                f"(got {tuple(row)!r}); fix or drop the row")
        if (band, gender) not in POPULATION_STRATA:
            raise BadInputError(f"{where}: age_band {band!r} and gender {gender!r} are not a stratum of footfall's "
                                "cohorts: use the age bands 18-24, 25-34, 35-44, 45-54, 55-64, 65+ and F or M")
        if not re.fullmatch(r"[0-9]+", residents):
            raise BadInputError(f"{where}: population {residents!r} is not a whole number of residents from 0")
        if (district, band, gender) in found:
            raise BadInputError(f"{where}: district {district}, {band} {gender} is given a second time: keep one row")
        found[(district, band, gender)] = int(residents)
    for district in sorted({d for d, _, _ in found}):
        missing = [f"{b} {g}" for b, g in POPULATION_STRATA if (district, b, g) not in found]
        if missing:
            raise BadInputError(f"population.csv: district {district} lacks {', '.join(missing)}: give every "
                                "district all 12 strata (0 where nobody lives)")
    return sorted((d, b, g, n) for (d, b, g), n in found.items())


def with_home_district(subscribers: DataFrame, postcodes: DataFrame) -> DataFrame:
    """home_district of each subscriber's (trimmed) postcode in ref.postcodes, else unknown."""
    homes = postcodes.select(F.col(C.POSTCODE).alias("_code"), F.col(C.HOME_DISTRICT).alias("_home"))
    return subscribers.join(F.broadcast(homes), F.trim(F.col(C.POSTCODE)) == F.col("_code"), "left").withColumn(
        C.HOME_DISTRICT, F.coalesce(F.col("_home"), F.lit(HOME_UNKNOWN))).drop("_code", "_home")
