"""Column names and table schemas: the one place they are defined.

Every table-producing transform ends in `select(*cols(SCHEMA))` of its table here (or of an
intermediate frame of the stay model in footfall.schemas.day), and tables
are created from these definitions with a comment on every column (see footfall.tables), so
`DESCRIBE TABLE` documents them for analysts. Column names are referenced through `C`
(footfall.schemas.columns), never spelled inside SQL strings.
"""

from __future__ import annotations

from pyspark.sql.types import (
    BooleanType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    TimestampType,
)

from footfall.schemas.columns import C as C
from footfall.schemas.reference import CELLS as CELLS
from footfall.schemas.reference import POPULATION as POPULATION
from footfall.schemas.reference import POSTCODES as POSTCODES
from footfall.schemas.reference import ZONE_COVER as ZONE_COVER
from footfall.schemas.reference import ZONE_RELATIONS as ZONE_RELATIONS
from footfall.schemas.reference import ZONES as ZONES
from footfall.schemas.table import Column as Column
from footfall.schemas.table import Table as Table
from footfall.schemas.table import cols as cols
from footfall.schemas.table import column as _col

# Cohort vocabulary (DESIGN.md, "Definitions").
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")
GENDERS = ("F", "M", "unknown")
# zone_daily_margins: the cohort key a margin adds up over (visitors by age band have gender `all`).
MARGIN_ALL = "all"
# zone_catchment: the home district of a visitor whose postcode is missing or not in ref.postcodes.
HOME_UNKNOWN = "unknown"

# Cell status values of published tables: one for every withheld cell, since a status saying why
# narrows the hidden values (docs/privacy.md, "One public status"); why is in ops.withheld_cells.
STATUS_PUBLISHED = "published"
STATUS_SUPPRESSED = "suppressed"
STATUS_DP = "dp"  # differentially private noisy value (privacy.mode: dp); never next to an exact one
PUBLIC_STATUSES = (STATUS_PUBLISHED, STATUS_SUPPRESSED, STATUS_DP)
NOISY_METRICS = (C.VISITORS, C.VISITS)  # the metrics a dp cell carries; every other one is NULL
# Why a cell was withheld (ops.withheld_cells.reason; inside disclosure control, its status).
WITHHELD_PRIMARY = "primary"  # fewer than k distinct subscribers
WITHHELD_SUBTRACTION = "subtraction"  # its hour's or day's total minus the published cells would pin another
WITHHELD_LINKED = "linked"  # the LP over a zone's grids together would narrow another below k
WITHHELD_REPUBLISH = "republish"  # withheld in the release it replaces, or differs from it by 1 to k - 1
WITHHELD_NESTED = "nested"  # with its union or parts in another zone set it would pin people in two parts or none
WITHHELD_REASONS = (WITHHELD_PRIMARY, WITHHELD_REPUBLISH, WITHHELD_SUBTRACTION, WITHHELD_LINKED, WITHHELD_NESTED)

# Exclusion reasons (subscribers whose events are never stored).
EXCLUDED_OPTED_OUT = "opted_out"
EXCLUDED_M2M = "m2m"
EXCLUDED_MINOR = "under_18"
EXCLUDED_UNKNOWN = "unknown_subscriber"

_VISITORS_EST = _col(C.VISITORS_EST, DoubleType(), "Estimated residents behind visitors, scaled by market share per "
                      "home district x age band x gender (footfall.market_share; docs/definitions.md). k applies "
                      "to visitors. NULL if suppressed or without population")
_METRICS = (
    _col(C.VISITORS, LongType(), "Distinct subscribers with a visit overlapping this hour (exact; NULL if suppressed)"),
    _VISITORS_EST,
    _col(C.VISITS, LongType(), "Visits starting in this hour (NULL if suppressed or withheld: docs/privacy.md §4)"),
    _col(C.PASSERSBY, LongType(), "Pass-by visits (dwell < min_dwell) starting in this hour"),
    _col(C.DWELL_MEDIAN_MIN, DoubleType(), "Median dwell in minutes of the non-pass-by visits starting in this hour"),
    _col(C.DWELL_MEAN_MIN, DoubleType(), "Mean dwell in minutes of the non-pass-by visits starting in this hour"),
    _col(C.DWELL_LT5, LongType(), "Visits starting in this hour with dwell under 5 minutes"),
    _col(C.DWELL_5_15, LongType(), "Visits starting in this hour with dwell of 5 to under 15 minutes"),
    _col(C.DWELL_15_60, LongType(), "Visits starting in this hour with dwell of 15 to under 60 minutes"),
    _col(C.DWELL_60PLUS, LongType(), "Visits starting in this hour with dwell of 60 minutes or more"),
    _col(C.STATUS, StringType(), "published | suppressed (every metric NULL; why is not public) | dp (noisy "
         "count, privacy.mode dp)", nullable=False),
)
_ZONE_KEYS = (
    _col(C.ZONE_SET, StringType(), "Zone set (catalogue of polygons), e.g. districts, localities, storefronts", False),
    _col(C.ZONE_ID, StringType(), "Zone identifier within its zone set; join to ref.zones", False),
    _col(C.EVENT_DATE, DateType(), "Local calendar date in the configured time zone", False),
)
_HOUR_KEYS = (
    _col(C.HOUR_START, TimestampType(), "UTC instant at which this local clock hour starts", False),
    _col(C.LOCAL_HOUR, IntegerType(), "Local clock hour 0..23 (repeated on the DST fall-back day)", False),
    _col(C.UTC_OFFSET_MIN, IntegerType(), "Local offset from UTC in minutes during this hour", False),
)
_COHORT_KEYS = (
    _col(C.AGE_BAND, StringType(), "Age band at the first snapshot of the ISO week: 18-24 ... 65+, or unknown", False),
    _col(C.GENDER, StringType(), "F, M or unknown", False),
)

_DAYPART_KEYS = (
    _col(C.DAY_PART, StringType(), "Day part by the local clock: night (00-06), morning (06-10), midday (10-14), "
         "afternoon (14-18), evening (18-24)", False),
    _col(C.PART_START, TimestampType(), "UTC instant at which the day part's first local clock hour starts", False),
    _col(C.PART_HOURS, IntegerType(), "Local clock hours in the day part on this day (night: 5 or 7 on a DST "
         "change day)", False),
)
_HOME_KEYS = (
    _col(C.HOME_DISTRICT, StringType(), f"Home district of the visitors (ref.postcodes: the district of the CRM "
         f"postcode), or {HOME_UNKNOWN} where the postcode is missing or not in ref.postcodes", False),
)
_WEEK_KEYS = (
    *_ZONE_KEYS[:2],
    _col(C.WEEK_START, DateType(), "Monday of the ISO week: the local dates Monday to Sunday", False),
)
# A cell's keys; the rest of a published table's columns are metrics.
PUBLISHED_KEYS = tuple(c.name for c in _ZONE_KEYS + _WEEK_KEYS[2:] + _HOUR_KEYS + _DAYPART_KEYS + _COHORT_KEYS
                       + _HOME_KEYS)

ZONE_HOURLY = Table(
    "footfall.zone_hourly",
    _ZONE_KEYS + _HOUR_KEYS + _COHORT_KEYS + _METRICS,
    "Footfall per zone x local hour x cohort (visitors only), suppressed below k distinct subscribers",
    partition_by=(C.EVENT_DATE,),
)
ZONE_HOURLY_TOTAL = Table(
    "footfall.zone_hourly_total",
    _ZONE_KEYS + _HOUR_KEYS + _METRICS,
    "Footfall per zone x local hour over all cohorts, suppressed below k distinct subscribers",
    partition_by=(C.EVENT_DATE,),
)
_DAY_METRICS = tuple(Column(c.name, c.dtype, c.comment.replace("this hour", "this day"), c.nullable) for c in _METRICS)
ZONE_DAILY = Table(
    "footfall.zone_daily",
    _ZONE_KEYS + _COHORT_KEYS + _DAY_METRICS,
    "Footfall per zone x local day x cohort, suppressed below k distinct subscribers",
    partition_by=(C.EVENT_DATE,),
)
# Estimates, not counts: the zone's true stays of the day, observed or not, and their durations,
# corrected for how observations sample a stay (footfall.pipeline.dwell; docs/definitions.md).
_DWELL_ESTIMATES = (
    _col(C.STAYS_EST, DoubleType(), "Estimated true stays in the zone this day, observed or not (model-based; "
         "NULL if suppressed or fewer than visits.dwell_est_min_visits stay visits)"),
    _col(C.DWELL_EST_MEDIAN_MIN, DoubleType(),
         "Estimated median duration in minutes of the true stays of at least min_dwell (model-based)"),
    _col(C.DWELL_EST_LT5_SHARE, DoubleType(), "Estimated share of true stays under 5 minutes (model-based)"),
    _col(C.DWELL_EST_5_15_SHARE, DoubleType(), "Estimated share of true stays of 5 to under 15 minutes"),
    _col(C.DWELL_EST_15_60_SHARE, DoubleType(), "Estimated share of true stays of 15 to under 60 minutes"),
    _col(C.DWELL_EST_60PLUS_SHARE, DoubleType(), "Estimated share of true stays of 60 minutes or more"),
)
ZONE_DAILY_TOTAL = Table(
    "footfall.zone_daily_total",
    _ZONE_KEYS + _DAY_METRICS[:-1] + _DWELL_ESTIMATES + _DAY_METRICS[-1:],
    "Footfall per zone x local day over all cohorts, with length-bias-corrected dwell estimates, suppressed "
    "below k distinct subscribers",
    partition_by=(C.EVENT_DATE,),
)

def _visitors_table(name: str, keys: tuple[Column, ...], visitors: str, comment: str) -> Table:
    """A published table of a coarser level (issue 16): visitors only, beside the zone keys."""
    return Table(name, (*_ZONE_KEYS, *keys, _col(C.VISITORS, LongType(), visitors), _VISITORS_EST, _DAY_METRICS[-1]),
                 f"{comment}, suppressed below k distinct subscribers", partition_by=(C.EVENT_DATE,))


# A coarser cohort level where day x cohort cells are too thin: visitors by age band over all
# genders and by gender over all age bands, one table, the margined-out key `all`.
ZONE_DAILY_MARGINS = _visitors_table(
    "footfall.zone_daily_margins",
    (_col(C.AGE_BAND, StringType(), f"Age band (18-24 ... 65+, unknown), or {MARGIN_ALL} in the rows by gender",
          False),
     _col(C.GENDER, StringType(), f"F, M or unknown, or {MARGIN_ALL} in the rows by age band", False)),
    "Distinct subscribers of the age band (or gender) with a visit this day (exact; NULL if suppressed)",
    "Footfall per zone x local day by age band and by gender (visitors only)",
)
# A coarser time level where hour x cohort cells are too thin.
ZONE_DAYPART = _visitors_table(
    "footfall.zone_daypart", (*_DAYPART_KEYS, *_COHORT_KEYS),
    "Distinct subscribers with a visit overlapping this day part (exact; NULL if suppressed)",
    "Footfall per zone x local day part x cohort (visitors only)",
)
# Catchment: where a zone's visitors of the day live.
ZONE_CATCHMENT = _visitors_table(
    "footfall.zone_catchment", _HOME_KEYS,
    "Distinct subscribers living in the home district with a visit this day (exact; NULL if suppressed); a "
    "zone's rows add up to its zone_daily_total visitors",
    "Footfall per zone x local day x home district of the visitors (visitors only)",
)



def _week_table(name: str, keys: tuple[Column, ...], visitors: str, comment: str) -> Table:
    """A published table of the week release (issue 16): visitors and their estimate, per zone and ISO week."""
    return Table(name, (*_WEEK_KEYS, *keys, _col(C.VISITORS, LongType(), visitors), _VISITORS_EST, _DAY_METRICS[-1]),
                 f"{comment}, suppressed below k distinct subscribers", partition_by=(C.WEEK_START,))


_WEEKLY = "Distinct subscribers {} with a visit on any day of the ISO week (exact; NULL if suppressed)"
ZONE_WEEKLY = _week_table("footfall.zone_weekly", _COHORT_KEYS, _WEEKLY.format("of the cohort"),
                          "Footfall per zone x ISO week x cohort (visitors only)")
ZONE_WEEKLY_TOTAL = _week_table("footfall.zone_weekly_total", (), _WEEKLY.format("of all cohorts"),
                                "Footfall per zone x ISO week over all cohorts (visitors only)")
ZONE_WEEKLY_MARGINS = _week_table(
    "footfall.zone_weekly_margins", ZONE_DAILY_MARGINS.columns[3:5], _WEEKLY.format("of the age band (or gender)"),
    "Footfall per zone x ISO week by age band and by gender (visitors only)")
ZONE_WEEKLY_CATCHMENT = _week_table(
    "footfall.zone_weekly_catchment", _HOME_KEYS, _WEEKLY.format("living in the home district"),
    "Footfall per zone x ISO week x home district of the visitors (visitors only)")
WEEK_TABLES = (ZONE_WEEKLY, ZONE_WEEKLY_TOTAL, ZONE_WEEKLY_MARGINS, ZONE_WEEKLY_CATCHMENT)

MARKET_SHARE = Table(
    "footfall.market_share",
    (
        _col(C.SNAPSHOT_DATE, DateType(), "Date of the subscriber snapshot the shares are of", False),
        _col(C.HOME_DISTRICT, StringType(), f"Home district, {HOME_UNKNOWN}, or {MARGIN_ALL}", False),
        _col(C.AGE_BAND, StringType(), f"Age band, unknown, or {MARGIN_ALL}", False),
        _col(C.GENDER, StringType(), f"F, M, unknown, or {MARGIN_ALL}", False),
        _col(C.POPULATION, LongType(), "Residents of the group (ref.population; NULL where an attribute is "
             "unknown)"),
        _col(C.SUBSCRIBER_COUNT, LongType(), "Included subscribers of the snapshot in the group (NULL below k)"),
        _col(C.WEIGHT, DoubleType(), "Residents per subscriber of the group: the factor visitors_est scales its "
             "visitors by (docs/definitions.md, Population estimates)", False),
    ),
    "The operator's market share per snapshot: residents per included subscriber by home district x age band "
    "x gender and their margins (all), the weights of visitors_est",
    partition_by=(C.SNAPSHOT_DATE,),
)
SUBSCRIBERS = Table(
    "restricted.subscribers",
    (
        _col(C.PSEUDO_ID, StringType(), "HMAC-SHA256 pseudonym of the subscriber in the key epoch", False),
        _col(C.KEY_ID, StringType(), "Id of the pseudonymisation key epoch", False),
        _col(C.AGE_BAND, StringType(), "Age band at the snapshot date", False),
        _col(C.GENDER, StringType(), "F, M or unknown", False),
        _col(C.CONTRACT_TYPE, StringType(), "consumer, business, m2m or unknown", False),
        _col(C.HOME_DISTRICT, StringType(), f"Home district of the CRM postcode (ref.postcodes), or {HOME_UNKNOWN}"),
        _col(C.EXCLUDED_REASON, StringType(), "Why the subscriber's events are never stored (NULL: included)"),
        _col(C.SNAPSHOT_DATE, DateType(), "Processing date the snapshot was loaded for", False),
    ),
    "Pseudonymised subscriber snapshot: cohort attributes and exclusion flags (restricted)",
    partition_by=(C.SNAPSHOT_DATE,),
)
EVENTS = Table(
    "restricted.events",
    (
        _col(C.EVENT_DATE, DateType(), "Local calendar date of the event", False),
        _col(C.PSEUDO_ID, StringType(), "Subscriber pseudonym", False),
        _col(C.KEY_ID, StringType(), "Pseudonymisation key epoch id", False),
        _col(C.EVENT_TIME, TimestampType(), "Event instant (UTC)", False),
        _col(C.CELL_ID, StringType(), "Serving cell id"),
        _col(C.EVENT_TYPE, StringType(), "Signalling event type"),
        _col(C.LON, DoubleType(), "Longitude (EPSG:4326): measured, or the serving site when not measured", False),
        _col(C.LAT, DoubleType(), "Latitude (EPSG:4326)", False),
        _col(C.ACCURACY_M, DoubleType(), "Position accuracy in metres"),
        _col(C.POSITION_SOURCE, StringType(), "measured | cell (position of the serving site)", False),
    ),
    "Validated, pseudonymised network events (restricted; retention-limited)",
    partition_by=(C.EVENT_DATE,),
)
# A rejected row's delivered field: identifier-like digit runs scrubbed (docs/ingest.md); a malformed row keeps none.
_RAW = "{} as delivered, identifier-like digits scrubbed; NULL when malformed"
REJECTED_EVENTS = Table(
    "ops.rejected_events",
    (
        _col(C.EVENT_DATE, DateType(), "Delivered local date (landing folder)", False),
        _col(C.REASON, StringType(), "Reason code, see docs/tables.md", False),
        _col(C.PSEUDO_ID, StringType(), "Subscriber pseudonym (NULL when the msisdn is missing or the row malformed)"),
        _col(C.RAW_EVENT_TIME, StringType(), _RAW.format("event_time")),
        _col(C.CELL_ID, StringType(), _RAW.format("cell_id")),
        _col(C.EVENT_TYPE, StringType(), _RAW.format("event_type")),
        _col(C.RAW_LON, StringType(), _RAW.format("lon")),
        _col(C.RAW_LAT, StringType(), _RAW.format("lat")),
        _col(C.RAW_ACCURACY_M, StringType(), _RAW.format("accuracy_m")),
        _col(C.SOURCE_FILE, StringType(), "Landing file the row came from"),
        _col(C.SOURCE_ROW, LongType(), "n-th data row of the landing file (1 = first after the header; "
                                       "blank lines not counted)"),
        _col(C.RUN_ID, StringType(), "Run that rejected the row", False),
    ),
    "Rejected landing rows with a reason, pseudonymised, raw fields scrubbed (never an identifier)",
    partition_by=(C.EVENT_DATE,),
)
VISITS = Table(
    "restricted.visits",
    (
        _col(C.ZONE_SET, StringType(), "Zone set", False),
        _col(C.ZONE_ID, StringType(), "Zone id", False),
        _col(C.EVENT_DATE, DateType(), "Local date (visits are cut at local midnight)", False),
        _col(C.PSEUDO_ID, StringType(), "Subscriber pseudonym", False),
        _col(C.AGE_BAND, StringType(), "Age band", False),
        _col(C.GENDER, StringType(), "Gender", False),
        _col(C.HOME_DISTRICT, StringType(), "Home district (ref.postcodes), or unknown"),
        _col(C.VISIT_START, TimestampType(), "Estimated start of the stay in the zone (UTC; cut at local midnight)",
             False),
        _col(C.VISIT_END, TimestampType(), "Estimated end of the stay in the zone (UTC; cut at local midnight)",
             False),
        _col(C.DWELL_S, LongType(), "Estimated dwell in seconds: visit_end - visit_start", False),
        _col(C.N_EVENTS, LongType(), "Events supporting the visit (0: the night place at midnight, unobserved)",
             False),
        _col(C.IS_PASSBY, BooleanType(), "True if dwell < min_dwell (mostly travel through the zone)", False),
        _col(C.FIRST_SEEN, TimestampType(), "First observation of the visit (UTC; NULL when unobserved)"),
        _col(C.LAST_SEEN, TimestampType(), "Last observation of the visit (UTC; NULL when unobserved)"),
    ),
    "Visits per subscriber and zone: stays and travel through it (restricted; retention-limited)",
    partition_by=(C.EVENT_DATE, C.ZONE_SET),
)
RUNS = Table(
    "ops.runs",
    (
        _col(C.RUN_ID, StringType(), "Unique run id", False),
        _col(C.JOB, StringType(), "Job name: load-reference, ingest, compute", False),
        _col(C.EVENT_DATE, DateType(), "Local date processed"),
        _col(C.ZONE_SET, StringType(), "Zone set (compute)"),
        _col(C.STARTED_AT, TimestampType(), "Start (UTC)", False),
        _col(C.FINISHED_AT, TimestampType(), "End (UTC)"),
        _col(C.DURATION_S, DoubleType(), "Duration in seconds"),
        _col(C.STATUS, StringType(), "ok | failed", False),
        _col(C.PARAMETERS, StringType(), "Parameters in effect as JSON (no secrets)"),
        _col(C.K, IntegerType(), "Minimum distinct subscribers per published cell"),
        _col(C.CODE_VERSION, StringType(), "footfall version and git commit"),
        _col(C.INPUT_VERSIONS, MapType(StringType(), LongType()), "Delta versions of the input tables read"),
        _col(C.COUNTS, MapType(StringType(), LongType()), "Row counts: in, out, rejected by reason, suppressed ..."),
        _col(C.MESSAGE, StringType(), "Error message of a failed run"),
    ),
    "Run manifest: one row per job run, for operators and the privacy officer",
)

PRIVACY_BUDGET = Table(
    "ops.privacy_budget",
    (
        _col(C.RUN_ID, StringType(), "Compute run that spent the budget (ops.runs.run_id)", False),
        _col(C.EVENT_DATE, DateType(), "Local date released: the budget is per subscriber-day", False),
        _col(C.ZONE_SET, StringType(), "Zone set released", False),
        _col(C.TABLE_NAME, StringType(), "Published table of the release, e.g. footfall.zone_hourly", False),
        _col(C.METRIC, StringType(), "Noisy metric: visitors or visits", False),
        _col(C.EPSILON, DoubleType(), "Epsilon spent by this release (sequential composition: they add up)", False),
        _col(C.DELTA, DoubleType(), "Delta spent (0: pure epsilon-DP, Laplace)", False),
        _col(C.MECHANISM, StringType(), "Noise mechanism and library, e.g. laplace (pipeline-dp / PyDP)", False),
        _col(C.L1_SENSITIVITY, DoubleType(), "L1 sensitivity of the released grid to one subscriber-day", False),
        _col(C.NOISE_SCALE, DoubleType(), "Laplace scale b = l1_sensitivity / epsilon", False),
        _col(C.CONTRIBUTION_BOUND, StringType(), "Contribution bounds the sensitivity rests on", False),
        _col(C.EPSILON_DAY_CUMULATIVE, DoubleType(),
             "Epsilon spent on this date so far, over all runs and zone sets, including this run", False),
        _col(C.RECORDED_AT, TimestampType(), "When the spend was recorded (UTC), before the noisy write", False),
    ),
    "Differential privacy budget ledger: one row per noisy release; every run is recorded, reruns included",
)

WITHHELD_CELLS = Table(
    "ops.withheld_cells",
    (
        *_ZONE_KEYS[:2],
        _col(C.EVENT_DATE, DateType(), "Local date of the cell; a week table's cell: the Monday of its ISO week",
             False),
        _col(C.TABLE_NAME, StringType(), "Published table of the cell, e.g. footfall.zone_hourly", False),
        _col(C.HOUR_START, TimestampType(), "Hour of the cell; in zone_daypart the start of its day part (NULL in "
             "the daily and week tables)"),
        _col(C.AGE_BAND, StringType(), "Age band of the cell (NULL in the total and catchment tables)"),
        _col(C.GENDER, StringType(), "Gender of the cell (NULL in the total and catchment tables)"),
        _col(C.HOME_DISTRICT, StringType(), "Home district of the cell (zone_catchment, zone_weekly_catchment; NULL "
             "elsewhere)"),
        _col(C.REASON, StringType(), "primary | subtraction | linked | republish | nested; or, visitors published, "
             "<visits|histogram|dwell>_<primary|subtraction|republish> | dwell_dominance: docs/privacy.md", False),
        _col(C.RUN_ID, StringType(), "Compute (or compute-week) run that withheld it (ops.runs.run_id)", False),
    ),
    "Why each withheld cell (or a cell's visit metrics) was withheld: for the privacy officer, never analysts",
    partition_by=(C.EVENT_DATE,),
)

ALL_TABLES = (
    ZONES, ZONE_RELATIONS, ZONE_COVER, CELLS, POSTCODES, POPULATION, MARKET_SHARE, SUBSCRIBERS, EVENTS,
    REJECTED_EVENTS, VISITS, RUNS, ZONE_HOURLY, ZONE_HOURLY_TOTAL, ZONE_DAILY, ZONE_DAILY_TOTAL, ZONE_DAILY_MARGINS,
    ZONE_DAYPART, ZONE_CATCHMENT, *WEEK_TABLES, PRIVACY_BUDGET, WITHHELD_CELLS,
)
PUBLISHED_TABLES = (ZONE_HOURLY, ZONE_HOURLY_TOTAL, ZONE_DAILY, ZONE_DAILY_TOTAL, ZONE_DAILY_MARGINS, ZONE_DAYPART,
                    ZONE_CATCHMENT)


def grid_cols(table: Table) -> list[str]:
    """A published table's columns as disclosure control computes its grid: all but the status (set
    at the write) and visitors_est (added after, from published cells: footfall.pipeline.estimate)."""
    return [c for c in table.names if c not in (C.STATUS, C.VISITORS_EST)]
