"""The stay model's intermediate frames within one compute run (footfall.pipeline.bursts, stays,
timeline): their column names (`D`) and schemas, documented like tables, never stored or
registered in the catalog. Times are epoch seconds (UTC) as doubles, positions metres in the
day's local frame (footfall.pipeline.bursts.LocalFrame) or lon/lat.
"""

from __future__ import annotations

from pyspark.sql.types import BooleanType, DoubleType, LongType, StringType, TimestampType

from footfall.schemas import C
from footfall.schemas.table import Column, Table
from footfall.schemas.table import column as _col


class D:
    """Column names of the intermediate frames (the published and catalog ones are in C)."""

    T_S = "t_s"  # instant in epoch seconds (UTC)
    X_M = "x_m"  # position in the day's local metric frame (footfall.pipeline.bursts.LocalFrame)
    Y_M = "y_m"
    SIGMA_M = "sigma_m"
    MEASURED = "measured"
    BURST_NO = "burst_no"
    FIRST_OBS = "first_obs_s"
    LAST_OBS = "last_obs_s"
    MOVING = "moving"
    STAY_NO = "stay_no"
    N_BURSTS = "n_bursts"
    AT_HOME = "at_home"
    VIRTUAL = "virtual"
    BURSTS_PER_S = "bursts_per_s"
    INFORMATIVE_PER_S = "informative_per_s"
    START_LO = "start_lo_s"
    START_HI = "start_hi_s"
    END_LO = "end_lo_s"
    END_HI = "end_hi_s"
    START_S = "start_s"
    END_S = "end_s"


_S = "Epoch seconds (UTC)"
OBSERVATIONS = Table(
    "day.observations",
    (
        _col(C.PSEUDO_ID, StringType(), "Subscriber pseudonym", False),
        _col(C.EVENT_TIME, TimestampType(), "Event instant (UTC)", False),
        _col(D.T_S, DoubleType(), _S, False),
        _col(C.LON, DoubleType(), "Longitude of the event's position", False),
        _col(C.LAT, DoubleType(), "Latitude of the event's position", False),
        _col(D.X_M, DoubleType(), "Position, metres east in the local frame", False),
        _col(D.Y_M, DoubleType(), "Position, metres north in the local frame", False),
        _col(D.SIGMA_M, DoubleType(), "Per-axis standard deviation of the position in metres", False),
        _col(D.MEASURED, BooleanType(), "The position was measured (not the serving site)", False),
        _col(D.BURST_NO, LongType(), "The subscriber's burst, numbered in time order from 1", False),
        _col(D.MOVING, BooleanType(), "The burst is travel (a travel event type or too much scatter)", False),
    ),
    "Events with their burst (intermediate)",
)
BURSTS = Table(
    "day.bursts",
    (
        _col(C.PSEUDO_ID, StringType(), "Subscriber pseudonym", False),
        _col(D.BURST_NO, LongType(), "The subscriber's burst, numbered in time order from 1", False),
        _col(D.FIRST_OBS, DoubleType(), "First event of the burst: " + _S, False),
        _col(D.LAST_OBS, DoubleType(), "Last event of the burst: " + _S, False),
        _col(C.N_EVENTS, LongType(), "Events in the burst", False),
        _col(D.X_M, DoubleType(), "Inverse-variance weighted centroid, metres east in the local frame", False),
        _col(D.Y_M, DoubleType(), "Same, metres north", False),
        _col(D.SIGMA_M, DoubleType(), "Per-axis standard deviation of the centroid in metres", False),
        _col(D.MOVING, BooleanType(), "The burst is travel", False),
    ),
    "Bursts: runs of a subscriber's events at most visits.burst_gap_s apart (intermediate)",
)
STAYS = Table(
    "day.stays",
    (
        _col(C.PSEUDO_ID, StringType(), "Subscriber pseudonym", False),
        _col(D.STAY_NO, LongType(), "The subscriber's stay (coarse, cell-only stays are negative)", False),
        _col(D.FIRST_OBS, DoubleType(), "First observation: " + _S, False),
        _col(D.LAST_OBS, DoubleType(), "Last observation: " + _S, False),
        _col(D.N_BURSTS, LongType(), "Bursts observing the stay (0: a virtual stay at midnight)", False),
        _col(C.N_EVENTS, LongType(), "Events observing the stay", False),
        _col(D.X_M, DoubleType(), "Inverse-variance weighted centroid over the bursts, metres east", False),
        _col(D.Y_M, DoubleType(), "Same, metres north", False),
        _col(D.SIGMA_M, DoubleType(), "Per-axis standard deviation of the centroid in metres", False),
        _col(D.AT_HOME, BooleanType(), "The stay is at the subscriber's night place", False),
        _col(D.VIRTUAL, BooleanType(), "A virtual stay at the night place at local midnight", False),
        _col(D.BURSTS_PER_S, DoubleType(), "The subscriber's bursts per second around the stay", False),
        _col(D.INFORMATIVE_PER_S, DoubleType(), "The same for its informative stationary bursts", False),
    ),
    "Stays over the whole trajectory (intermediate)",
)
_WINDOWS = (
    _col(D.START_LO, DoubleType(), "Earliest possible start: " + _S, False),
    _col(D.START_HI, DoubleType(), "Latest possible start: " + _S, False),
    _col(D.END_LO, DoubleType(), "Earliest possible end: " + _S, False),
    _col(D.END_HI, DoubleType(), "Latest possible end: " + _S, False),
)


def _pick(table: Table, *names: str) -> tuple[Column, ...]:
    by_name = {c.name: c for c in table.columns}
    return tuple(by_name[n] for n in names)


STAY_POINTS = Table(
    "day.stay_points",
    (
        *_pick(STAYS, C.PSEUDO_ID, D.STAY_NO),
        _col(C.LON, DoubleType(), "Longitude of the centroid", False),
        _col(C.LAT, DoubleType(), "Latitude of the centroid", False),
        *_pick(STAYS, D.SIGMA_M),
        _col(D.START_S, DoubleType(), "Estimated start: " + _S, False),
        _col(D.END_S, DoubleType(), "Estimated end: " + _S, False),
        *_WINDOWS,
        *_pick(STAYS, D.FIRST_OBS, D.LAST_OBS, D.N_BURSTS, C.N_EVENTS, D.VIRTUAL, D.BURSTS_PER_S),
    ),
    "Stays with estimated start and end, one point each for the zone join (intermediate)",
)
