"""Disclosure control of the visit metrics: k on the people behind each count, and no subtraction
along the relations in which they add up (docs/privacy.md, section 4).

`visitors` counts the people present in a cell; the visit metrics count the visits that start
there, which may come from far fewer people. They are published in three layers, each withheld
as a whole (its columns NULL) while the cell's visitors stay published:

- `visits`: the visit count, published where at least k distinct subscribers started a visit;
- `histogram`: pass-bys and the four dwell bins, where every one of them counts 0 or at least k
  people (a dwell bin holding one person is a cell of one person); they add up to `visits`;
- `dwell`: the dwell median and mean of the stays, where 0 or at least k people stayed and no
  one of them holds more than `privacy.max_stay_share` of the stays or of their dwell (a mean of
  59 stays, 40 of them one person's, is that person's habit).

The histogram needs the visit count (bins add up to it, so bins shown beside a withheld count
would give it back), and the dwell statistics need the histogram: the stays are visits minus
pass-bys, and without them a mean of whole seconds gives its own denominator away (the smallest n
with 60 x n x mean whole), hence the pass-bys. Their private people columns come from
footfall.pipeline.aggregate (PEOPLE); a private column per layer says why it was withheld
(`<layer>_<rule>`, NULL while shown), and only the outermost reason reaches ops.withheld_cells.

The counts add up exactly: a zone's day is the sum of its hours and of its cohorts. So per layer,
the day minus the parts that show it is the sum over the parts that hide it, and that group must
count 0 or at least k people (`suppress_visit_secondary`). zone_hourly publishes no visit
metrics at all (`without_visit_metrics`): a cohort hour sits in two of these relations at once,
and rules that look at one relation at a time cannot stop their combinations.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from footfall.pipeline.aggregate import ESTIMATES, METRICS, PEOPLE, PRIVATE, STAYS, TOP_DWELL_S, TOP_STAYS
from footfall.schemas import STATUS_PUBLISHED, WITHHELD_PRIMARY, WITHHELD_REPUBLISH, WITHHELD_SUBTRACTION, C


@dataclass(frozen=True)
class Layer:
    name: str
    metrics: tuple[str, ...]  # published or withheld together
    counts: tuple[str, ...]  # additive counts (keys of PEOPLE) whose people the rules test

    @property
    def why(self) -> str:
        """The private column saying why the layer is withheld (NULL while shown)."""
        return f"_why_{self.name}"

    def shown(self) -> Column:
        return (F.col(C.STATUS) == STATUS_PUBLISHED) & F.col(self.why).isNull()


BINS = (C.DWELL_LT5, C.DWELL_5_15, C.DWELL_15_60, C.DWELL_60PLUS)
VISITS_LAYER = Layer("visits", (C.VISITS,), (C.VISITS,))
# Stays = visits - pass-bys are known wherever the histogram is: their people count too.
HISTOGRAM = Layer("histogram", (C.PASSERSBY, *BINS), (C.PASSERSBY, STAYS, *BINS))
DWELL = Layer("dwell", (C.DWELL_MEDIAN_MIN, C.DWELL_MEAN_MIN), (STAYS,))
LAYERS = (VISITS_LAYER, HISTOGRAM, DWELL)
# Withholding a layer withholds those that need it.
_NEEDING = {VISITS_LAYER.name: (HISTOGRAM, DWELL), HISTOGRAM.name: (DWELL,), DWELL.name: ()}
DOMINANCE = "dominance"  # the dwell statistics only: one subscriber holds too much of them
REASONS = (*(f"{layer.name}_{rule}" for layer in LAYERS
             for rule in (WITHHELD_PRIMARY, WITHHELD_SUBTRACTION, WITHHELD_REPUBLISH)), f"{DWELL.name}_{DOMINANCE}")
WHY = tuple(layer.why for layer in LAYERS)  # private, like PRIVATE: never written

_TOTAL = "_total_"
_TOTAL_SHOWN = "_total_shown"
_RANK = "_layer_rank"
_N_HIDDEN = "_layer_hidden"
_THROUGH = "_layer_through"


def _with_reasons(cells: DataFrame) -> DataFrame:
    missing = [why for why in WHY if why not in cells.columns]
    return cells.select("*", *[F.lit(None).cast("string").alias(why) for why in missing])


def _withhold(cells: DataFrame, layer: Layer, condition: Column, rule: str) -> DataFrame:
    """Where `condition` holds and `layer` is shown, withhold it with reason `<layer>_<rule>`,
    and the layers that need it (_NEEDING); withholding the count or the histogram withholds
    zone_daily_total's dwell estimates (footfall.pipeline.aggregate.ESTIMATES: a modelled
    histogram of the same visits)."""
    cells = _with_reasons(cells)
    hide = layer.shown() & F.coalesce(condition, F.lit(True))  # undecidable: withhold, fail safe
    hit = [layer, *_NEEDING[layer.name]]
    nulled = {m for lay in hit for m in lay.metrics} | (set(ESTIMATES) if layer is not DWELL else set())
    reason = F.lit(f"{layer.name}_{rule}")
    return cells.select(*[
        F.when(~hide, F.col(c)).alias(c) if c in nulled
        else F.when(hide & F.col(c).isNull(), reason).otherwise(F.col(c)).alias(c) if c in {lay.why for lay in hit}
        else F.col(c)
        for c in cells.columns
    ])


def without_visit_metrics(cells: DataFrame) -> DataFrame:
    """zone_hourly: no visit metrics at all (a design rule, not recorded per cell)."""
    visit_metrics = {m for layer in LAYERS for m in layer.metrics}
    return cells.select(*[F.lit(None).cast(cells.schema[c].dataType).alias(c) if c in visit_metrics else F.col(c)
                          for c in cells.columns])


def _zero_or_k(people: str, k: int) -> Column:
    return (F.col(people) == 0) | (F.col(people) >= k)


def suppress_visit_primary(cells: DataFrame, k: int, max_stay_share: float) -> DataFrame:
    """Withhold each layer of a published cell whose people are too few: fewer than k started a
    visit (the count), 1 to k - 1 behind pass-bys, stays or a dwell bin (the histogram), 1 to
    k - 1 stayed (the dwell statistics). 25 visitors of whom one started the cell's only visit
    would otherwise publish that person's dwell.

    Then the dominance rule of magnitude tables (the (1, p) rule of statistical disclosure
    control): the dwell statistics are withheld where one subscriber holds more than
    `max_stay_share` of the cell's stays (the median is then one of its stays) or of their dwell
    (the mean is then mostly its dwell), however many others stayed."""
    cells = _withhold(cells, VISITS_LAYER, ~(F.col(PEOPLE[C.VISITS]) >= k), WITHHELD_PRIMARY)
    histogram_ok = functools.reduce(Column.__and__, [_zero_or_k(PEOPLE[m], k) for m in HISTOGRAM.counts])
    cells = _withhold(cells, HISTOGRAM, ~histogram_ok, WITHHELD_PRIMARY)
    cells = _withhold(cells, DWELL, ~_zero_or_k(PEOPLE[STAYS], k), WITHHELD_PRIMARY)
    dwell_s = F.col(C.DWELL_MEAN_MIN) * 60 * F.col(STAYS)
    dominated = (F.col(TOP_STAYS) > max_stay_share * F.col(STAYS)) | (F.col(TOP_DWELL_S) > max_stay_share * dwell_s)
    return _withhold(cells, DWELL, F.coalesce(dominated, F.lit(False)), DOMINANCE)


def carry_over(cells: DataFrame, old_shown: dict[str, Column]) -> DataFrame:
    """A republish: each layer withheld in a published cell of the replaced release stays
    withheld (`<layer>_republish`) where the new cell would show it (zone_hourly shows none).
    `old_shown`: per layer name, whether the old cell showed it (NULL where the old release lacks
    the cell: nothing to carry over)."""
    for layer in LAYERS:
        withheld_before = ~F.coalesce(old_shown[layer.name], F.lit(True))
        cells = _withhold(cells, layer, withheld_before & F.col(layer.metrics[0]).isNotNull(), WITHHELD_REPUBLISH)
    return cells


def _relation(parts: DataFrame, totals: DataFrame, keys: Sequence[str], k: int, disjoint_people: bool,
              layer: Layer, known: Column) -> DataFrame:
    """One layer's subtraction rule (see suppress_visit_secondary). `known`: whether a cell's
    values of the layer's counts are published (for parts and totals alike)."""
    group = Window.partitionBy(*keys)
    tie_break = [c for c in parts.columns if c not in keys and c not in METRICS and c not in PRIVATE
                 and c not in ESTIMATES and c not in WHY and c != C.STATUS]
    order = Window.partitionBy(*keys).orderBy(~known, C.VISITS, *tie_break)
    through = order.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    total = totals.select(*keys, known.alias(_TOTAL_SHOWN), *[F.when(known, F.col(m)).alias(_TOTAL + m)
                                                             for m in layer.counts])
    combine = F.sum if disjoint_people else F.max

    def hidden(m: str, r: str) -> str:  # column: the group's sum of count m, with r published parts added
        return f"_hidden{r}_{m}"

    def people(m: str, r: str) -> str:  # column: the people behind it (exact, or a lower bound)
        return f"_people{r}_{m}"

    def safe(n: Column, r: str) -> Column:
        return functools.reduce(Column.__and__, [(F.col(hidden(m, r)) == 0) for m in layer.counts]) | (
            (n >= 2) & functools.reduce(Column.__and__, [
                (F.col(hidden(m, r)) == 0) | (F.col(people(m, r)) >= k) for m in layer.counts]))

    marked = (parts.join(F.broadcast(total), list(keys), "left")
              .withColumn(_RANK, F.row_number().over(order))  # the parts showing the layer come first
              .withColumn(_N_HIDDEN, F.count(F.when(~known, 1)).over(group)))
    for m in layer.counts:
        more = F.when(known, F.col(PEOPLE[m]))
        marked = (marked
                  .withColumn(hidden(m, "0"), F.col(_TOTAL + m) - F.coalesce(F.sum(F.when(known, F.col(m))).over(group),
                                                                             F.lit(0)))
                  .withColumn(people(m, "0"), F.coalesce(combine(F.when(~known, F.col(PEOPLE[m]))).over(group),
                                                         F.lit(0)))
                  # evaluated at a part of rank r: were parts 1..r withheld too
                  .withColumn(hidden(m, "r"), F.col(hidden(m, "0")) + F.sum(F.when(known, F.col(m))).over(through)))
        marked = marked.withColumn(people(m, "r"), F.col(people(m, "0")) + F.sum(more).over(through)
                                   if disjoint_people else F.greatest(F.col(people(m, "0")), F.max(more).over(through)))
    first_safe = F.min(F.when(known & safe(F.col(_N_HIDDEN) + F.col(_RANK), "r"), F.col(_RANK))).over(group)
    marked = marked.withColumn(_THROUGH, first_safe).withColumn(_THROUGH, (
        F.when(F.col(_TOTAL_SHOWN).isNull(), F.lit(0))  # no total
        # a total hiding the layer: the parts must not rebuild it, so one of them hides it too
        .when(~F.col(_TOTAL_SHOWN), F.when(F.col(_N_HIDDEN) == 0, F.lit(1)).otherwise(F.lit(0)))
        .when(safe(F.col(_N_HIDDEN), "0"), F.lit(0))
        .otherwise(F.coalesce(F.col(_THROUGH), F.count(F.when(known, 1)).over(group)))))
    return _withhold(marked, layer, F.col(_RANK) <= F.col(_THROUGH), WITHHELD_SUBTRACTION).select(*parts.columns)


def suppress_visit_secondary(parts: DataFrame, totals: DataFrame, keys: Sequence[str], k: int,
                             disjoint_people: bool) -> DataFrame:
    """Protect the withheld layers of `parts` against subtraction from their total, layer by layer.

    A total that hides a layer (its people too few, or withheld against the replaced release)
    must not be the sum of parts that all show it: then the part with the fewest visits hides it
    too. Per group (`keys`, e.g. a zone's day) whose total shows a layer, total minus the parts
    that show it gives, per count, the sum S over the parts that hide it. That group is safe when every
    S = 0, or at least two parts hide it and every count with S > 0 has at least k people behind
    it in the group: known exactly for cohorts (nobody is in two: `disjoint_people`, their sum),
    bounded below for hours (one person may start visits in several: the largest part's).
    Otherwise the parts showing the layer are withheld, fewest visits first, until the group is
    safe; withholding all of them is always safe, the group then being the total itself. The
    dwell statistics' relation is the dwell sum (mean x stays; they are shown only beside the
    histogram, which gives the stays). Visit counts first: withholding one withholds its cell's
    other layers.
    """
    parts, totals = _with_reasons(parts), _with_reasons(totals)
    for layer in LAYERS:
        parts = _relation(parts, totals, keys, k, disjoint_people, layer, layer.shown())
    return parts


def withheld_layer(grid: DataFrame) -> Column:
    """The reason a published cell's visit metrics are withheld, for ops.withheld_cells: the visit
    count's if withheld (the others follow from it), else the histogram's, else the dwell's."""
    if not set(WHY) <= set(grid.columns):
        return F.lit(None).cast("string")
    return F.coalesce(*[F.col(layer.why) for layer in LAYERS])
