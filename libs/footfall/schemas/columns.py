"""Column names of every table (the published, catalog and ops ones): `C`, referenced by all code
and never spelled inside SQL strings. The tables themselves are in footfall.schemas.
"""

from __future__ import annotations


class C:
    """Column names."""

    # landing (operator export) columns
    MSISDN = "msisdn"
    EVENT_TIME = "event_time"
    CELL_ID = "cell_id"
    EVENT_TYPE = "event_type"
    LON = "lon"
    LAT = "lat"
    ACCURACY_M = "accuracy_m"
    BIRTH_DATE = "birth_date"
    GENDER = "gender"
    CONTRACT_TYPE = "contract_type"
    POSTCODE = "postcode"
    OPTED_OUT_AT = "opted_out_at"

    # cells
    SITE_ID = "site_id"
    AZIMUTH_DEG = "azimuth_deg"
    BEAMWIDTH_DEG = "beamwidth_deg"
    RANGE_M = "range_m"
    RADIO = "radio"
    VALID_FROM = "valid_from"
    VALID_TO = "valid_to"

    # zones
    ZONE_SET = "zone_set"
    ZONE_ID = "zone_id"
    ZONE_NAME = "zone_name"
    CATEGORY = "category"
    GEOMETRY = "geometry"  # WKB
    AREA_M2 = "area_m2"
    PART_SET = "part_set"  # zone relations: the set of the zones whose union a zone is
    PART_ID = "part_id"
    DIFFERENCE_M2 = "difference_m2"
    GRID_LEVEL = "grid_level"  # zone cover: footfall.zones.cover
    CELL_X = "cell_x"
    CELL_Y = "cell_y"
    CORE = "core"
    PIECE = "piece"
    RIM = "rim"
    ZONES_HASH = "zones_hash"

    # pseudonymised subscribers and events
    PSEUDO_ID = "pseudo_id"
    KEY_ID = "key_id"
    AGE_BAND = "age_band"
    EXCLUDED_REASON = "excluded_reason"
    SNAPSHOT_DATE = "snapshot_date"
    EVENT_DATE = "event_date"  # local calendar date in the configured time zone
    WEEK_START = "week_start"  # the Monday of an ISO week (local dates Monday to Sunday)
    POSITION_SOURCE = "position_source"

    # rejects
    REASON = "reason"
    SOURCE_FILE = "source_file"
    SOURCE_ROW = "source_row"
    RAW_EVENT_TIME = "raw_event_time"
    RAW_LON = "raw_lon"
    RAW_LAT = "raw_lat"
    RAW_ACCURACY_M = "raw_accuracy_m"
    RUN_ID = "run_id"

    # visits
    VISIT_START = "visit_start"
    VISIT_END = "visit_end"
    DWELL_S = "dwell_s"
    N_EVENTS = "n_events"
    IS_PASSBY = "is_passby"
    FIRST_SEEN = "first_seen"
    LAST_SEEN = "last_seen"


    # published aggregates
    HOUR_START = "hour_start"  # UTC instant at which the local clock hour starts
    LOCAL_HOUR = "local_hour"  # 0..23 on the local clock
    UTC_OFFSET_MIN = "utc_offset_min"  # local offset in that hour (DST: 60 or 120 in Berlin)
    DAY_PART = "day_part"  # night, morning, midday, afternoon, evening (footfall.localtime.DAY_PARTS)
    PART_START = "part_start"  # UTC instant at which the day part's first local clock hour starts
    PART_HOURS = "part_hours"  # local clock hours in the day part on this day (DST: night 5 or 7)
    HOME_DISTRICT = "home_district"  # the visitor's home district (ref.postcodes), or unknown
    VISITORS = "visitors"
    VISITORS_EST = "visitors_est"  # visitors scaled to all residents (footfall.pipeline.estimate)
    VISITS = "visits"
    PASSERSBY = "passersby"
    DWELL_MEDIAN_MIN = "dwell_median_min"
    DWELL_MEAN_MIN = "dwell_mean_min"
    DWELL_LT5 = "dwell_lt5"
    DWELL_5_15 = "dwell_5_15"
    DWELL_15_60 = "dwell_15_60"
    DWELL_60PLUS = "dwell_60plus"
    STAYS_EST = "stays_est"
    DWELL_EST_MEDIAN_MIN = "dwell_est_median_min"
    DWELL_EST_LT5_SHARE = "dwell_est_lt5_share"
    DWELL_EST_5_15_SHARE = "dwell_est_5_15_share"
    DWELL_EST_15_60_SHARE = "dwell_est_15_60_share"
    DWELL_EST_60PLUS_SHARE = "dwell_est_60plus_share"
    STATUS = "status"

    # population and market share (footfall.pipeline.estimate)
    POPULATION = "population"
    SUBSCRIBER_COUNT = "subscribers"
    WEIGHT = "weight"

    # run manifest
    JOB = "job"
    STARTED_AT = "started_at"
    FINISHED_AT = "finished_at"
    DURATION_S = "duration_s"
    PARAMETERS = "parameters"
    K = "k"
    CODE_VERSION = "code_version"
    INPUT_VERSIONS = "input_versions"
    COUNTS = "counts"
    MESSAGE = "message"

    # privacy budget ledger (differential privacy mode, footfall.privacy.dp)
    TABLE_NAME = "table_name"
    METRIC = "metric"
    EPSILON = "epsilon"
    DELTA = "delta"
    MECHANISM = "mechanism"
    L1_SENSITIVITY = "l1_sensitivity"
    NOISE_SCALE = "noise_scale"
    CONTRIBUTION_BOUND = "contribution_bound"
    EPSILON_DAY_CUMULATIVE = "epsilon_day_cumulative"
    RECORDED_AT = "recorded_at"
