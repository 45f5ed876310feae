"""The generator's vocabulary and defaults: the landing formats it writes, the zone sets, the
row faults and subscriber shares it injects, the points-of-interest categories and stay kinds.

Constants that only one step of the generator uses live with that step (e.g. the event
profile in footfall.synthetic.events, the CRM noise in footfall.synthetic.population).
"""

from __future__ import annotations

import datetime as dt

EVENT_COLUMNS = ("msisdn", "event_time", "cell_id", "event_type", "lon", "lat", "accuracy_m")
EVENT_HEADER = ",".join(EVENT_COLUMNS)
SUBSCRIBER_COLUMNS = ("msisdn", "birth_date", "gender", "contract_type", "postcode")
OPTOUT_COLUMNS = ("msisdn", "opted_out_at")
EVENT_TYPES = ("data_session", "voice_call", "sms", "handover", "location_update")
CONTRACT_TYPES = ("consumer", "business", "m2m")

DEFAULT_DATE = dt.date(2026, 3, 14)  # a Saturday
DEFAULT_MARKET_SHARE = 0.30
DEFAULT_EVENTS = 100.0
DEFAULT_SEED = 42
DEFAULT_BUFFER_M = 25.0
ROWS_PER_FILE_TARGET = 250_000  # subscribers per file = this / events per subscriber

STOREFRONT_CATEGORIES = ("supermarkets", "convenience-stores", "marketplaces", "cafes", "sbahn-stops", "ubahn-stops")
ZONE_SETS = ("districts", "localities", "storefronts")

# Row faults, injected into rows of subscribers the pipeline would keep (consumer/business, not
# opted out, not under 18 by the CRM), at most one fault per row: rate = share of those rows.
ROW_FAULTS: dict[str, float] = {
    "malformed": 0.0005,  # wrong number of fields: cut line, ';' separated, extra field
    "missing_field": 0.001,  # a required field empty, or only part of lon/lat/accuracy_m present
    "bad_timestamp": 0.0005,  # event_time not ISO-8601 UTC (German format, month 13, epoch millis)
    "outside_day": 0.001,  # valid timestamp two days before/after the delivered local day
    "bad_coordinates": 0.001,  # NaN, (0,0), lat/lon swapped, or Munich: outside BERLIN_BBOX
    "unknown_cell": 0.0005,  # a well-formed ECGI that is not in cells.csv
    "duplicate": 0.002,  # the row is written twice (exact duplicate, next line)
    "unknown_msisdn": 0.001,  # msisdn replaced by one that is not in the CRM
    "shifted_columns": 0.0005,  # an extra leading field, the SIM's IMSI, before a complete row (8 fields)
}
# Faults that break a CSV line: a Parquet file has no lines to break.
CSV_ONLY_FAULTS = ("malformed", "shifted_columns")
# Subscriber-level shares, also settable with --fault NAME=SHARE.
SUBSCRIBER_SHARES: dict[str, float] = {"m2m": 0.03, "opted_out": 0.02}
# How each landing row is classified (first match wins); the report counts every category.
CLASSIFICATION_ORDER = (*ROW_FAULTS, "opted_out", "m2m", "under_18", "clean")
# Every natural position lies inside this box; every bad_coordinates position lies outside it.
BERLIN_BBOX = (13.0, 52.25, 13.9, 52.8)

GENDER_SPELLINGS = {
    "F": (("F", "f", "female", "w"), (0.82, 0.07, 0.06, 0.05)),
    "M": (("M", "m", "male"), (0.84, 0.08, 0.08)),
    "unknown": (("", "X", "d"), (0.5, 0.3, 0.2)),
}

# Points of interest: categories used for trips, dwell range in minutes.
POI_CATEGORIES = ("supermarkets", "convenience-stores", "marketplaces", "cafes", "sbahn-stops", "ubahn-stops",
                  "restaurants", "fast-food-restaurants", "cinemas", "museums")
CAT = {c: i for i, c in enumerate(POI_CATEGORIES)}

STAY_TYPES = ("home", "work", "school", "university", "poi", "device", "depot")
HOME, WORK, SCHOOL, UNI, POI, DEVICE, DEPOT = range(7)
ANCHOR_NONE = 0

STREAM_SUBSCRIBERS, STREAM_PLAN, STREAM_EVENTS = 0, 1, 2


