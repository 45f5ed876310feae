"""Duration priors fitted on the driver from a sample of a frame's rows, one per group.

The sample is drawn by a hash of each row's key, not by Spark's random sampler, so that a
rerun of the day fits the same priors whatever the partitioning (a republished day must equal
one run). The fit is footfall.pipeline.durations.fit_prior over the sample's censoring windows
and detection probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from footfall.config import VisitsSection
from footfall.pipeline import durations
from footfall.schemas.day import D

WINDOW_COLUMNS = (D.START_LO, D.START_HI, D.END_LO, D.END_HI)
_GROUP = "_group"
_DRAW = "_draw"
_RESOLUTION = 1_000_000


def windows(frame: pd.DataFrame) -> durations.Windows:
    """The censoring windows of a pandas batch (columns WINDOW_COLUMNS)."""
    s_lo, s_hi, e_lo, e_hi = (frame[c].to_numpy(float) for c in WINDOW_COLUMNS)
    return durations.Windows(s_lo, s_hi, e_lo, e_hi)


def sample(frame: DataFrame, group: str, keys: Sequence[str], columns: Sequence[str], size: int) -> pd.DataFrame:
    """About `size` rows of each value of `group` (all rows of a smaller group), chosen by a hash
    of `keys`, in the order of that hash. Columns: `group` as `_group`, then `columns`."""
    counts = {r[_GROUP]: r["n"] for r in frame.groupBy(F.col(group).alias(_GROUP)).agg(
        F.count(F.lit(1)).alias("n")).collect()}
    if not counts:
        return pd.DataFrame(columns=[_GROUP, *columns])
    share = F.create_map(*[x for g, n in counts.items() for x in (F.lit(g), F.lit(min(1.0, size / n)))])
    draw = F.pmod(F.xxhash64(*keys), F.lit(_RESOLUTION))
    chosen = frame.select(F.col(group).alias(_GROUP), *columns, draw.alias(_DRAW)).where(
        F.col(_DRAW) < F.element_at(share, F.col(_GROUP)) * _RESOLUTION)
    rows = pd.DataFrame(chosen.toPandas())
    return rows.sort_values([_GROUP, _DRAW, *columns], kind="stable").reset_index(drop=True)[[_GROUP, *columns]]


def fit(rows: pd.DataFrame, rate: str, p: VisitsSection) -> dict[object, np.ndarray]:
    """A prior per group of `sample`'s rows, from their windows and detection rate column `rate`."""
    priors = {}
    for value, part in rows.groupby(_GROUP, sort=True, dropna=False):
        g = windows(part).likelihood()
        detect = durations.detection_probability(part[rate].to_numpy(float), p.detection_offset_s, p.p_min)
        priors[value] = durations.fit_prior(g, detect, p.em_iterations, p.em_smooth)
    return priors
