"""Relations between zones of the catalogue that matter for disclosure control.

Today: near-duplicate zones, whose published counts could differ by a single person standing in
the sliver between them (docs/privacy.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely

from footfall.zones.load import in_utm33


def near_duplicates(zones: Sequence[tuple[str, Any]], min_area_m2: float) -> list[tuple[str, str, float]]:
    """Pairs of zones (label, lon/lat polygon) whose symmetric difference is not empty but smaller
    than `min_area_m2`, with that area in m2, the earlier label first.

    Two such zones publish two counts that can differ by a single person standing in the sliver
    between them: a differencing attack. Identical zones publish identical counts and are fine.
    An STRtree finds the intersecting pairs; the area difference, a lower bound of the symmetric
    difference, discards most of them before any polygon overlay is computed.
    """
    if len(zones) < 2:
        return []
    labels = [label for label, _ in zones]
    metric = np.asarray([in_utm33(g) for _, g in zones])
    areas = shapely.area(metric)
    left, right = shapely.STRtree(metric).query(metric, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    close = np.abs(areas[left] - areas[right]) < min_area_m2
    left, right = left[close], right[close]
    diff = shapely.area(shapely.symmetric_difference(metric[left], metric[right]))
    found = (diff > 0) & (diff < min_area_m2)
    return sorted(
        (min(labels[a], labels[b]), max(labels[a], labels[b]), float(d))
        for a, b, d in zip(left[found], right[found], diff[found], strict=True)
    )


