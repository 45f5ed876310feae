"""Relations between zones of the catalogue that matter for disclosure control
(docs/privacy.md, sections 2 and 4b):

- near-duplicate zones, whose published counts could differ by a single person standing in the
  sliver between them: refused at load-reference;
- a zone that (nearly) equals the union of zones of another set, as a district the union of its
  localities: recorded in ref.zone_relations, and protected across the sets by
  footfall.privacy.nested (the parts' sum minus the union counts the people in two parts at once
  or in none).
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




def unions(zones: Sequence[tuple[str, str, Any]], max_difference_share: float
           ) -> list[tuple[str, str, str, list[str], float]]:
    """Zones (set, id, lon/lat polygon) that nearly equal the union of zones of another set:
    (set, id, part set, part ids, symmetric difference in m2), one per zone and part set.

    The parts of zone U in set B are B's zones lying mostly (more than half their area) inside U;
    U is their union when the symmetric difference of U and the parts' union is at most
    `max_difference_share` of U's area. A single part counts too: a zone and a slightly larger
    one differ by the people in the sliver. Identical pairs (difference 0, one part) publish
    identical counts and are left out. Most zones are ruled out by areas alone (their parts'
    areas cannot add up to U's) before any union is computed.
    """
    metric = np.asarray([in_utm33(g) for _, _, g in zones])
    areas = shapely.area(metric)
    inside, outer = shapely.STRtree(metric).query(metric, predicate="intersects")  # (part, zone) pairs
    other_set = np.asarray([zones[i][0] != zones[j][0] for i, j in zip(inside, outer, strict=True)], dtype=bool)
    inside, outer = inside[other_set], outer[other_set]
    mostly = shapely.area(shapely.intersection(metric[inside], metric[outer])) > 0.5 * areas[inside]
    parts: dict[tuple[int, str], list[int]] = {}
    for part, zone in zip(inside[mostly], outer[mostly], strict=True):
        parts.setdefault((int(zone), zones[part][0]), []).append(int(part))
    found = []
    for (zone, part_set), members in sorted(parts.items()):
        allowed = max_difference_share * areas[zone]
        # the parts' union has at most their summed area and at least the largest's, and the
        # symmetric difference at least the difference of the areas
        if areas[zone] - areas[members].sum() > allowed or areas[members].max() - areas[zone] > allowed:
            continue
        difference = float(shapely.area(shapely.symmetric_difference(metric[zone], shapely.union_all(metric[members]))))
        if difference <= allowed and not (len(members) == 1 and difference == 0):
            found.append((zones[zone][0], zones[zone][1], part_set, sorted(zones[m][1] for m in members), difference))
    return found
