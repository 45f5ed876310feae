"""The duration model of a stay: numpy only, called from Spark in mapInPandas / applyInPandas.

A stay's start lies in a censoring window [s_lo, s_hi] and its end in [e_lo, e_hi]
(footfall.pipeline.timeline). On a duration grid D_k (1-minute bins to 1 h, 5-minute bins to
4 h, 15-minute bins to 25 h: 180 bins):

- likelihood of D_k (the start uniform in time): g(D_k) = length of the starts s in
  [s_lo, s_hi] with s + D_k in [e_lo, e_hi] = max(0, min(s_hi, e_hi - D_k) - max(s_lo, e_lo - D_k));
- detection probability (bursts a Poisson process of rate r, whatever the person does; a burst
  must fall inside the stay, `offset_s` < 0 because a ~75 s burst must fit in it):
  p(D_k) = max(p_min, 1 - exp(-r (D_k + offset_s)));
- the day's (or a zone category's) distribution f of true durations maximises the conditional
  likelihood prod_i sum_k f_k g_ik / sum_k f_k p_ik of the detected stays; the self-consistency
  iteration f_k <- f_k (sum_i g_ik / G_i) / (sum_i p_ik / P_i) does it (EM for interval
  censoring over inverse-probability weighting of the length bias), smoothed each iteration
  (EMS: a share of a 3-bin moving average), because the plain NPMLE is spiky;
- per stay, the posterior post_i(D_k) ~ f_k g_ik; given D_k the start is uniform on its feasible
  interval [a_k, b_k], so E[start | D_k] = (a_k + b_k) / 2;
- per zone, F_z(D_k) = sum_i post_i(D_k) / p_i(D_k) estimates the zone's true stays per bin,
  observed or not (Horvitz-Thompson).

Derivation and measurements: docs/definitions.md and docs/accuracy.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MINUTE = 60.0
# Bin edges in seconds: 1-minute bins below 1 h, 5-minute bins below 4 h, 15-minute bins to 25 h
# (a local day has at most 25 hours). 5, 15 and 60 minutes are edges: the published bins align.
EDGES = np.r_[np.arange(0, 60, 1), np.arange(60, 240, 5), np.arange(240, 25 * 60 + 1, 15)] * MINUTE
MIDS = (EDGES[:-1] + EDGES[1:]) / 2
# The published histogram bins (minutes): < 5, 5 to < 15, 15 to < 60, 60 or more.
HISTOGRAM_EDGES_MIN = (5.0, 15.0, 60.0)
_CONVERGED = 1e-9


@dataclass(frozen=True)
class Windows:
    """Censoring windows of n stays (seconds): start in [s_lo, s_hi], end in [e_lo, e_hi]."""

    s_lo: np.ndarray
    s_hi: np.ndarray
    e_lo: np.ndarray
    e_hi: np.ndarray

    def feasible_starts(self) -> tuple[np.ndarray, np.ndarray]:
        """(a, b), each (n, K): the starts s with s + D_k in the end window lie in [a_k, b_k]."""
        a = np.maximum(self.s_lo[:, None], self.e_lo[:, None] - MIDS[None, :])
        b = np.minimum(self.s_hi[:, None], self.e_hi[:, None] - MIDS[None, :])
        return a, b

    def likelihood(self) -> np.ndarray:
        """g (n, K): the length of the feasible starts of each duration."""
        a, b = self.feasible_starts()
        return np.maximum(0.0, b - a)


def detection_probability(rate_per_s: np.ndarray, offset_s: float, p_min: float) -> np.ndarray:
    """p (n, K): the chance that a stay of each duration holds at least one burst, floored at
    p_min (which caps the inverse-probability weights at 1 / p_min)."""
    p = 1.0 - np.exp(-rate_per_s[:, None] * (MIDS[None, :] + offset_s))
    return np.maximum(p, p_min)


def fit_prior(g: np.ndarray, p: np.ndarray, iterations: int, smooth: float) -> np.ndarray:
    """The duration distribution f (K,) of the stays behind g and p: the self-consistency
    iteration from the uniform distribution, with EMS smoothing. Stays whose windows admit no
    duration of the grid (G = 0) carry no information and are left out."""
    f = np.full(g.shape[1], 1.0 / g.shape[1])
    for _ in range(iterations):
        big_g, big_p = g @ f, p @ f
        ok = big_g > 0
        numerator = (g[ok] / big_g[ok, None]).sum(0)
        denominator = (p[ok] / big_p[ok, None]).sum(0)
        updated = f * numerator / np.maximum(denominator, 1e-300)
        if smooth:
            updated = (1 - smooth) * updated + smooth * np.convolve(updated, np.ones(3) / 3, "same")
        total = updated.sum()
        if not total > 0:  # no informative stay: keep the uniform distribution
            return f
        updated /= total
        done = np.abs(updated - f).max() < _CONVERGED
        f = updated
        if done:
            break
    return f


def posterior(g: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """post (n, K) ~ prior * g, rows summing to 1 (0 where the windows admit no duration)."""
    w = g * prior[None, :]
    total = w.sum(1, keepdims=True)
    return np.where(total > 0, w / np.where(total > 0, total, 1.0), 0.0)


def expected_tail_head(windows: Windows, first_obs: np.ndarray, last_obs: np.ndarray,
                       prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """E[end - last_obs] and E[first_obs - start] of each stay under its posterior (>= 0)."""
    a, b = windows.feasible_starts()
    post = posterior(np.maximum(0.0, b - a), prior)
    start = (a + b) / 2
    head = (post * (first_obs[:, None] - start)).sum(1)
    tail = (post * (start + MIDS[None, :] - last_obs[:, None])).sum(1)
    return np.maximum(tail, 0.0), np.maximum(head, 0.0)


def posterior_median(g: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Per stay: the grid duration at which its posterior reaches 1/2."""
    cumulative = np.cumsum(posterior(g, prior), 1)
    k = (cumulative < 0.5).sum(1)
    return MIDS[np.minimum(k, len(MIDS) - 1)]


def place(windows: Windows, duration: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of stays of the given durations inside their windows: the duration is
    clipped to what the windows allow and the start is the middle of its feasible interval."""
    d = np.clip(duration, windows.e_lo - windows.s_hi, windows.e_hi - windows.s_lo)
    a = np.maximum(windows.s_lo, windows.e_lo - d)
    b = np.minimum(windows.s_hi, windows.e_hi - d)
    start = np.where(b >= a, (a + b) / 2, windows.s_lo)
    return start, start + d


def zone_counts(g: np.ndarray, p: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """F (K,): the estimated true stays per duration bin behind these detected stays."""
    return (posterior(g, prior) / p).sum(0)


def binned_median(edges: np.ndarray, weights: np.ndarray) -> float:
    """Median of a histogram with weights per bin [edges[k], edges[k + 1]), uniform within bins;
    NaN for an empty histogram."""
    total = weights.sum()
    if not total > 0:
        return float("nan")
    cumulative = np.r_[0.0, np.cumsum(weights)] / total
    return float(np.interp(0.5, cumulative, edges))


@dataclass(frozen=True)
class Summary:
    stays: float  # estimated true stays, observed or not
    shares: tuple[float, float, float, float]  # < 5, 5-15, 15-60, 60+ minutes
    median_min: float  # over durations >= min_dwell (NaN when there is no weight there)


def summarise(counts: np.ndarray, min_dwell_s: float) -> Summary:
    """The published statistics of an estimated duration distribution F (K,)."""
    total = float(counts.sum())
    cuts = np.searchsorted(EDGES, np.array(HISTOGRAM_EDGES_MIN) * MINUTE)
    parts = np.split(counts, cuts)
    shares = tuple(float(part.sum() / total) if total > 0 else float("nan") for part in parts)
    first = int(np.searchsorted(EDGES, min_dwell_s))  # min_dwell is a grid edge (whole minutes < 1 h)
    median = binned_median(EDGES[first:] / MINUTE, counts[first:])
    return Summary(total, (shares[0], shares[1], shares[2], shares[3]), median)
