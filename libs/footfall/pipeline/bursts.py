"""Step 1 of the stay model: events -> bursts (docs/definitions.md, "Bursts").

A phone is seen in bursts of a few events half a minute apart, about once an hour. A burst is a
maximal run of one subscriber's events whose consecutive gaps are at most `burst_gap_s`. Per
burst: the inverse-variance weighted centroid x = sum w_i x_i / sum w_i (w_i = 1 / sigma_i^2,
sigma_i = accuracy_m / accuracy_sigma_factor, the per-axis standard deviation of a position whose
accuracy is a 68% radius), its standard deviation 1 / sqrt(sum w_i), and the scatter
chi2 = sum w_i |x_i - x|^2, which for a phone at rest follows a chi-square law with 2 (n - 1)
degrees of freedom. A burst is *moving* (travel) when it holds an event of a travel type
(handover) or its chi2 exceeds the (1 - moving_chi2_p) quantile.

Positions are projected to metres in a local equirectangular frame about the centre of the zone
catalogue (`LocalFrame`): plain column arithmetic, exact to about 1% within 50 km of the centre,
where ST_Transform to EPSG:25833 costs a geometry object per event (docs/accuracy.md has both
measured).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from scipy import stats
from sedona.spark.sql import st_constructors as stc
from sedona.spark.sql import st_functions as stf

from footfall.config import VisitsSection
from footfall.schemas import C, cols
from footfall.schemas.day import BURSTS, OBSERVATIONS, D

# Exact chi-square critical values up to this many events per burst, Wilson-Hilferty beyond
# (within 0.05% from 128 degrees of freedom on).
EXACT_CHI2_EVENTS = 64
_NEW = "_new_burst"
_W = "_w"
_SUMS = ("_sw", "_swx", "_swy", "_swxx")
_TRAVEL = "_travel"
_N = "_n"


@dataclass(frozen=True)
class LocalFrame:
    """Metres east and north of (lon0, lat0): the degree lengths of the WGS84 ellipsoid at lat0."""

    lon0: float
    lat0: float

    @property
    def m_per_lon(self) -> float:
        phi = math.radians(self.lat0)
        return 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi) + 0.118 * math.cos(5 * phi)

    @property
    def m_per_lat(self) -> float:
        phi = math.radians(self.lat0)
        return 111132.92 - 559.82 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)

    def x(self, lon: Column) -> Column:
        return (lon - self.lon0) * self.m_per_lon

    def y(self, lat: Column) -> Column:
        return (lat - self.lat0) * self.m_per_lat

    def lon(self, x: Column) -> Column:
        return x / self.m_per_lon + self.lon0

    def lat(self, y: Column) -> Column:
        return y / self.m_per_lat + self.lat0


def local_frame(zones: DataFrame) -> LocalFrame:
    """The frame about the centre of the zones' bounding box (ref.zones, any zone sets)."""
    shape = stc.ST_GeomFromWKB(F.col(C.GEOMETRY))
    box = zones.agg(
        F.min(stf.ST_XMin(shape)).alias("x0"), F.max(stf.ST_XMax(shape)).alias("x1"),
        F.min(stf.ST_YMin(shape)).alias("y0"), F.max(stf.ST_YMax(shape)).alias("y1"),
    ).first()
    if box is None or box["x0"] is None:
        raise ValueError("no zones to centre the local frame on")
    return LocalFrame((box["x0"] + box["x1"]) / 2, (box["y0"] + box["y1"]) / 2)


def chi2_critical(n_events: Column, p: float) -> Column:
    """The (1 - p) quantile of chi-square with 2 (n - 1) degrees of freedom; +inf for one event."""
    exact = F.array(*[F.lit(float(stats.chi2.isf(p, 2 * (n - 1))) if n > 1 else math.inf)
                      for n in range(1, EXACT_CHI2_EVENTS + 1)])
    k = 2 * (n_events - 1)
    z = float(stats.norm.isf(p))
    wilson_hilferty = k * F.pow(1 - 2 / (9 * k) + z * F.sqrt(2 / (9 * k)), 3)
    return F.when(n_events <= EXACT_CHI2_EVENTS, F.element_at(exact, n_events.cast("int"))).otherwise(
        wilson_hilferty)


def observations(events: DataFrame, frame: LocalFrame, p: VisitsSection) -> DataFrame:
    """restricted.events of one day -> every event with its burst and whether the burst moves
    (day.observations). An event without time, position or accuracy cannot be weighed and is
    left out (restricted.events has none: ingest gives a cell position its cell's range)."""
    sigma = F.greatest(F.col(C.ACCURACY_M) / p.accuracy_sigma_factor, F.lit(1.0))  # never a 0 m fix
    positioned = events.where(
        F.col(C.EVENT_TIME).isNotNull() & F.col(C.LON).isNotNull() & F.col(C.LAT).isNotNull()
        & F.col(C.ACCURACY_M).isNotNull()
    ).select(
        C.PSEUDO_ID, C.EVENT_TIME, C.LON, C.LAT,
        F.col(C.EVENT_TIME).cast("double").alias(D.T_S),
        sigma.alias(D.SIGMA_M),
        (F.col(C.POSITION_SOURCE) == "measured").alias(D.MEASURED),
        frame.x(F.col(C.LON)).alias(D.X_M), frame.y(F.col(C.LAT)).alias(D.Y_M),
        F.coalesce(F.col(C.EVENT_TYPE).isin(*p.travel_event_types), F.lit(False)).alias(_TRAVEL),
    )
    by_time = Window.partitionBy(C.PSEUDO_ID).orderBy(D.T_S)
    gap = F.col(D.T_S) - F.lag(D.T_S).over(by_time)
    numbered = positioned.withColumn(_NEW, F.when(gap <= p.burst_gap_s, 0).otherwise(1)).withColumn(
        D.BURST_NO, F.sum(_NEW).over(by_time.rowsBetween(Window.unboundedPreceding, 0)))
    # The burst's sums on every event (not a groupBy): the moving flag must reach the events,
    # which make the pass-bys. The rows are partitioned by subscriber already: a local sort.
    burst = Window.partitionBy(C.PSEUDO_ID, D.BURST_NO)
    summed = numbered.select("*", *[total.over(burst).alias(name) for name, total in _sums().items()],
                             F.max(_TRAVEL).over(burst).alias(f"{_TRAVEL}_any"))
    return summed.withColumn(D.MOVING, F.col(f"{_TRAVEL}_any") | (_scatter() > chi2_critical(
        F.col(_N), p.moving_chi2_p))).select(*cols(OBSERVATIONS))


def _sums() -> dict[str, Column]:
    """Per burst: sum of w, w x, w y, w |x|^2 and the events (w = 1 / sigma^2)."""
    w = 1.0 / (F.col(D.SIGMA_M) * F.col(D.SIGMA_M))
    terms = (w, w * F.col(D.X_M), w * F.col(D.Y_M), w * (F.col(D.X_M) ** 2 + F.col(D.Y_M) ** 2))
    return {**{name: F.sum(term) for name, term in zip(_SUMS, terms, strict=True)}, _N: F.count(F.lit(1))}


def _scatter() -> Column:
    """chi2 = sum w |x - centroid|^2 = sum w |x|^2 - |sum w x|^2 / sum w (>= 0 but for rounding)."""
    sw, swx, swy, swxx = (F.col(c) for c in _SUMS)
    return F.greatest(swxx - (swx * swx + swy * swy) / sw, F.lit(0.0))


def bursts(observed: DataFrame) -> DataFrame:
    """day.observations -> one row per burst (day.bursts): its span, events, centroid, sigma and
    whether it moves. The rows are partitioned by subscriber already: no shuffle."""
    rows = observed.groupBy(C.PSEUDO_ID, D.BURST_NO).agg(
        F.min(D.T_S).alias(D.FIRST_OBS), F.max(D.T_S).alias(D.LAST_OBS),
        *[total.alias(name) for name, total in _sums().items()], F.first(D.MOVING).alias(D.MOVING),
    )
    sw = F.col(_SUMS[0])
    return rows.select(
        "*", F.col(_N).alias(C.N_EVENTS), (F.col(_SUMS[1]) / sw).alias(D.X_M), (F.col(_SUMS[2]) / sw).alias(D.Y_M),
        (1.0 / F.sqrt(sw)).alias(D.SIGMA_M),
    ).select(*cols(BURSTS))
