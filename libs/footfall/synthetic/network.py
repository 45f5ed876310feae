"""A synthetic O2-like radio network plan for Berlin and the serving-cell lookup.

No openly licensed, operator-labelled cell-site list exists for Berlin (see the reference data's
SOURCES.md), so `build_cell_plan` places sites in proportion to population: every locality
(Ortsteil) gets sites in proportion to its residents, plus a coverage minimum per km² for the
forests and lakes. Sites sit near built-up places (the points of interest) or anywhere in the
locality. Each site has three 120° sectors; every sector is one LTE or NR cell with an
ECGI-style id `262-07-<eNB id>-<cell id>` (MCC 262 Germany, MNC 07 Telefónica/O2). Some sites
also carry switched-off UMTS cells (valid_to in the past) that never serve an event, so the
plan exercises validity intervals.

`CellPlan.serving_cells` answers "which cell serves this position" for many positions at once: a
100 m raster over Berlin holds the three nearest sites of each raster cell (found with scipy's
k-d tree); an event picks one of them (mostly the nearest, within the site's range) and the
sector whose azimuth covers the bearing from the site to the position. Everything is numpy and
seeded, so it is deterministic.

Distances use a local equirectangular approximation (metres per degree at the point's own
latitude), which is accurate to well under a metre at the scales used here (< 10 km).
"""

from __future__ import annotations

import datetime as dt
import io
import math
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

MCC = 262
MNC = 7  # Telefónica Germany (O2)
SECTORS = 3
BEAMWIDTH_DEG = 120.0  # the coverage angle of each of the three sectors
RESIDENTS_PER_SITE = 2500
KM2_PER_SITE_MIN = 3.0  # coverage minimum: at least one site per this many km² of a locality
NR_SHARE = 0.2  # sites whose cells are 5G NR instead of LTE
UMTS_SITE_SHARE = 0.3  # sites that also carry a switched-off UMTS (3G) cell per sector
UMTS_SWITCH_OFF = dt.date(2021, 12, 31)  # O2 switched 3G off at the end of 2021 (exclusive valid_to)
RASTER_DLON = 0.0015  # ~100 m at Berlin's latitude
RASTER_DLAT = 0.0009  # ~100 m
SERVING_P = (0.74, 0.19, 0.07)  # choose the 1st / 2nd / 3rd nearest site (if within its range)
CELLS_HEADER = ("cell_id", "site_id", "lon", "lat", "azimuth_deg", "beamwidth_deg", "range_m",
                "radio", "valid_from", "valid_to")
UNKNOWN_ENB_BASE = 1_040_000  # eNB ids from here on are never in the plan (20-bit max is 1,048,575)


def metres_per_degree(lat: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(metres per degree of longitude, metres per degree of latitude) at `lat` (WGS84)."""
    phi = np.radians(lat)
    m_lat = 111132.92 - 559.82 * np.cos(2 * phi) + 1.175 * np.cos(4 * phi)
    m_lon = 111412.84 * np.cos(phi) - 93.5 * np.cos(3 * phi) + 0.118 * np.cos(5 * phi)
    return np.asarray(m_lon, dtype=float), np.asarray(m_lat, dtype=float)


def distance_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Approximate distance in metres (local equirectangular at the mean latitude)."""
    m_lon, m_lat = metres_per_degree((np.asarray(lat1) + np.asarray(lat2)) / 2)
    return np.hypot((np.asarray(lon2) - lon1) * m_lon, (np.asarray(lat2) - lat1) * m_lat)


def distance_m_scalar(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """`distance_m` for two single points, in plain Python (fast for scalars)."""
    phi = math.radians((lat1 + lat2) / 2)
    m_lat = 111132.92 - 559.82 * math.cos(2 * phi)
    m_lon = 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi)
    return math.hypot((lon2 - lon1) * m_lon, (lat2 - lat1) * m_lat)


def bearing_deg(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Bearing from point 1 to point 2 in degrees clockwise from north, 0..360."""
    m_lon, m_lat = metres_per_degree((np.asarray(lat1) + np.asarray(lat2)) / 2)
    dx = (np.asarray(lon2) - lon1) * m_lon
    dy = (np.asarray(lat2) - lat1) * m_lat
    return np.degrees(np.arctan2(dx, dy)) % 360.0


def sample_points_in(geom: BaseGeometry, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`n` points uniformly inside `geom` (lon/lat), by vectorised rejection sampling."""
    if n <= 0:
        return np.empty(0), np.empty(0)
    minx, miny, maxx, maxy = geom.bounds
    shapely.prepare(geom)
    out_x: list[np.ndarray] = []
    out_y: list[np.ndarray] = []
    have = 0
    ratio = max(geom.area / ((maxx - minx) * (maxy - miny)), 0.05)
    while have < n:
        m = int((n - have) / ratio * 1.3) + 16
        x = rng.uniform(minx, maxx, m)
        y = rng.uniform(miny, maxy, m)
        keep = shapely.contains_xy(geom, x, y)
        out_x.append(x[keep])
        out_y.append(y[keep])
        have += int(keep.sum())
    return np.concatenate(out_x)[:n], np.concatenate(out_y)[:n]


def sample_near(geom: BaseGeometry, anchor_lon: np.ndarray, anchor_lat: np.ndarray, sigma_m: float,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """For each anchor point, a point within about `sigma_m` of it that lies inside `geom`.

    Gaussian offsets are redrawn up to 8 times; a point still outside falls back to a uniform
    point inside `geom` (so the result always lies inside)."""
    n = len(anchor_lon)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    todo = np.arange(n)
    shapely.prepare(geom)
    for _ in range(8):
        if len(todo) == 0:
            break
        m_lon, m_lat = metres_per_degree(anchor_lat[todo])
        x = anchor_lon[todo] + rng.normal(0, sigma_m, len(todo)) / m_lon
        y = anchor_lat[todo] + rng.normal(0, sigma_m, len(todo)) / m_lat
        ok = shapely.contains_xy(geom, x, y)
        lon[todo[ok]] = x[ok]
        lat[todo[ok]] = y[ok]
        todo = todo[~ok]
    if len(todo):
        lon[todo], lat[todo] = sample_points_in(geom, len(todo), rng)
    return lon, lat


@dataclass(frozen=True)
class CellPlan:
    """The active cells (three per site, index = site * 3 + sector) plus retired cells."""

    site_id: np.ndarray  # str, per site
    site_lon: np.ndarray
    site_lat: np.ndarray
    range_m: np.ndarray  # per site
    azimuth: np.ndarray  # (n_sites, 3) degrees
    radio: np.ndarray  # str per site: LTE | NR
    valid_from: np.ndarray  # str per site (YYYY-MM-DD)
    cell_id: np.ndarray  # str, per active cell: n_sites * 3
    enb_id: np.ndarray  # int per site
    retired_rows: tuple[tuple[str, ...], ...]  # full cells.csv rows of switched-off cells
    raster: np.ndarray  # (ny, nx, 3) int32: the three nearest site indices of each raster cell
    raster_origin: tuple[float, float]  # lon, lat of the raster's south-west corner

    @property
    def n_sites(self) -> int:
        return len(self.site_lon)

    def cells_csv(self) -> str:
        """cells.csv: a header, the active cells in site order, then the retired cells."""
        buf = io.StringIO()
        buf.write(",".join(CELLS_HEADER) + "\n")
        for s in range(self.n_sites):
            for k in range(SECTORS):
                buf.write(",".join((
                    str(self.cell_id[s * SECTORS + k]), str(self.site_id[s]), f"{self.site_lon[s]:.6f}",
                    f"{self.site_lat[s]:.6f}", f"{self.azimuth[s, k]:.0f}", f"{BEAMWIDTH_DEG:.0f}",
                    f"{self.range_m[s]:.0f}", str(self.radio[s]), str(self.valid_from[s]), "",
                )) + "\n")
        for row in self.retired_rows:
            buf.write(",".join(row) + "\n")
        return buf.getvalue()

    def all_cell_ids(self) -> set[str]:
        return set(self.cell_id.tolist()) | {row[0] for row in self.retired_rows}

    def serving_cells(self, lon: np.ndarray, lat: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Index of the active cell serving each position; `u` uniform [0,1) draws pick among
        the three nearest sites (within range), then the sector covers the bearing."""
        ny, nx, _ = self.raster.shape
        ix = np.clip(((lon - self.raster_origin[0]) / RASTER_DLON).astype(np.int64), 0, nx - 1)
        iy = np.clip(((lat - self.raster_origin[1]) / RASTER_DLAT).astype(np.int64), 0, ny - 1)
        cand = self.raster[iy, ix]  # (n, 3)
        d = distance_m(lon[:, None], lat[:, None], self.site_lon[cand], self.site_lat[cand])
        reach = d <= self.range_m[cand]
        reach[:, 0] = True  # the nearest site always serves as a fallback
        p = np.where(reach, np.asarray(SERVING_P)[None, :], 0.0)
        cum = np.cumsum(p, axis=1)
        pick = (u[:, None] * cum[:, -1:] >= cum).sum(axis=1)
        pick = np.minimum(pick, 2)
        site = cand[np.arange(len(lon)), pick]
        brg = bearing_deg(self.site_lon[site], self.site_lat[site], lon, lat)
        diff = np.abs((brg[:, None] - self.azimuth[site] + 180.0) % 360.0 - 180.0)
        sector = np.argmin(diff, axis=1)
        return site * SECTORS + sector


def _nearest(lon: np.ndarray, lat: np.ndarray, site_lon: np.ndarray, site_lat: np.ndarray,
             k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (n, k) of the k nearest sites of each point, nearest first (ties by index), and
    their squared distances in m² (metres per degree taken at each point's own latitude).

    A k-d tree (scipy's cKDTree) needs one metric for all points: it works in metres per degree
    at the points' middle latitude, where a point's own metric differs by a factor of at least
    `shrink` (under 1% across Berlin). The tree returns a few more candidates than needed, ranked
    again with each point's own metric; where a site beyond the candidates could still be nearer
    than the k-th (the bound below), the point takes every site of a ball that must hold it.
    """
    m_lon, m_lat = metres_per_degree(lat)
    ref_lon, ref_lat = metres_per_degree(float(np.median(lat)))
    tree = cKDTree(np.column_stack([site_lon * ref_lon, site_lat * ref_lat]))
    points = np.column_stack([lon * ref_lon, lat * ref_lat])
    shrink = np.minimum(m_lon / ref_lon, m_lat / ref_lat) * (1 - 1e-9)  # own distance >= shrink * tree's
    n_cand = min(k + 8, len(site_lon))
    tree_d, cand = tree.query(points, n_cand)
    idx, d2 = _ranked(cand, lon, lat, m_lon, m_lat, site_lon, site_lat, k)
    if n_cand < len(site_lon):
        # Unsure: a site outside the candidates may be closer, by the point's own metric, than the k-th.
        for i in np.flatnonzero(shrink * tree_d[:, -1] <= np.sqrt(d2[:, -1])):
            ball = np.asarray(tree.query_ball_point(points[i], np.sqrt(d2[i, -1]) / shrink[i] * (1 + 1e-9)))
            one = slice(i, i + 1)
            idx[i], d2[i] = (a[0] for a in _ranked(ball[None, :], lon[one], lat[one], m_lon[one], m_lat[one],
                                                   site_lon, site_lat, k))
    return idx, d2


def _ranked(cand: np.ndarray, lon: np.ndarray, lat: np.ndarray, m_lon: np.ndarray, m_lat: np.ndarray,
            site_lon: np.ndarray, site_lat: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k of each row's candidate sites nearest to its point, by squared distance then index."""
    dx = (site_lon[cand] - lon[:, None]) * m_lon[:, None]
    dy = (site_lat[cand] - lat[:, None]) * m_lat[:, None]
    d2 = dx * dx + dy * dy
    order = np.lexsort((cand, d2), axis=1)[:, :k]
    return np.take_along_axis(cand, order, axis=1).astype(np.int32), np.take_along_axis(d2, order, axis=1)


def _nearest_three(lon: np.ndarray, lat: np.ndarray, site_lon: np.ndarray, site_lat: np.ndarray,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Indices (n, 3) and distances (n, 3) of the three nearest sites, nearest first (metres per
    degree taken at each query point's latitude)."""
    idx, d2 = _nearest(lon, lat, site_lon, site_lat, 3)
    return idx, np.sqrt(d2)


def _nearest_three_gridded(rlon: np.ndarray, rlat: np.ndarray, site_lon: np.ndarray, site_lat: np.ndarray,
                           nx: int, ny: int, origin: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """`_nearest_three` for the raster points, via candidates: the 12 nearest sites of each
    block of 4 x 4 raster cells (~400 m), then the exact three nearest among those.

    The candidates stay although the k-d tree could answer every raster point exactly: where the
    three nearest of a raster point are not among its block's 12 (rare), the exact answer would
    change the plan, and the same seed must keep giving the same serving cells."""
    step = 4
    bx, by = math.ceil(nx / step), math.ceil(ny / step)
    clon = origin[0] + (np.arange(bx) + 0.5) * step * RASTER_DLON
    clat = origin[1] + (np.arange(by) + 0.5) * step * RASTER_DLAT
    cgx, cgy = np.meshgrid(clon, clat)
    k = min(12, len(site_lon))
    cand_block, _ = _nearest(cgx.ravel(), cgy.ravel(), site_lon, site_lat, k)  # (blocks, k)
    iy, ix = np.divmod(np.arange(len(rlon)), nx)
    cand = cand_block[(iy // step) * bx + ix // step]  # (n, k)
    m_lon, m_lat = metres_per_degree(rlat)
    d = np.hypot((site_lon[cand] - rlon[:, None]) * m_lon[:, None], (site_lat[cand] - rlat[:, None]) * m_lat[:, None])
    order = np.argsort(d, axis=1, kind="stable")[:, :3]
    return np.take_along_axis(cand, order, axis=1).astype(np.int32), np.take_along_axis(d, order, axis=1)


def build_cell_plan(
    locality_geoms: list[BaseGeometry],
    locality_population: np.ndarray,
    berlin: BaseGeometry,
    poi_lon: np.ndarray,
    poi_lat: np.ndarray,
    seed: int,
    first_date: dt.date,
) -> CellPlan:
    """Place sites per locality in proportion to its residents (plus a coverage minimum), three
    sectors each; compute ranges from the area each site is nearest to; build the raster.

    The sites and then their radio attributes draw from one generator, in this order."""
    rng = np.random.default_rng([seed, 0x5E11])
    site_lon, site_lat = _place_sites(rng, locality_geoms, locality_population, poi_lon, poi_lat)
    raster, origin, range_m = _raster_and_ranges(berlin, site_lon, site_lat)
    n_sites = len(site_lon)
    enb = np.sort(rng.choice(np.arange(100_000, 1_000_000), n_sites, replace=False))
    enb = rng.permutation(enb)
    radio = np.where(rng.random(n_sites) < NR_SHARE, "NR", "LTE")
    base_az = rng.integers(0, 120, n_sites)
    azimuth = (base_az[:, None] + np.array([0, 120, 240])[None, :]) % 360
    first_ord = first_date.toordinal()
    lte_from = dt.date(2012, 1, 1).toordinal()
    nr_from = dt.date(2020, 7, 1).toordinal()
    start = np.where(radio == "NR", nr_from, lte_from)
    from_ord = start + (rng.random(n_sites) * (first_ord - 30 - start)).astype(int)
    valid_from = np.array([dt.date.fromordinal(int(o)).isoformat() for o in from_ord])
    site_id = np.array([f"BE{e:06d}" for e in enb])
    cell_local = np.where(radio == "NR", 11, 1)
    cell_id = np.array([f"{MCC}-{MNC:02d}-{enb[s]}-{cell_local[s] + k}"
                        for s in range(n_sites) for k in range(SECTORS)])
    umts = rng.random(n_sites) < UMTS_SITE_SHARE
    retired = tuple(
        (f"{MCC}-{MNC:02d}-{enb[s]}-{21 + k}", str(site_id[s]), f"{site_lon[s]:.6f}", f"{site_lat[s]:.6f}",
         f"{azimuth[s, k]:.0f}", f"{BEAMWIDTH_DEG:.0f}", f"{range_m[s] * 1.5:.0f}", "UMTS",
         "2004-01-01", UMTS_SWITCH_OFF.isoformat())
        for s in np.flatnonzero(umts) for k in range(SECTORS)
    )
    return CellPlan(
        site_id=site_id, site_lon=site_lon, site_lat=site_lat, range_m=range_m,
        azimuth=azimuth.astype(float), radio=radio, valid_from=valid_from, cell_id=cell_id, enb_id=enb,
        retired_rows=retired, raster=raster, raster_origin=origin,
    )


def _place_sites(rng: np.random.Generator, locality_geoms: list[BaseGeometry], locality_population: np.ndarray,
                 poi_lon: np.ndarray, poi_lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Site positions: per locality one per RESIDENTS_PER_SITE residents, at least one per
    KM2_PER_SITE_MIN km2; 70% near its points of interest (where it has five or more)."""
    lons: list[np.ndarray] = []
    lats: list[np.ndarray] = []
    for geom, pop in zip(locality_geoms, locality_population, strict=True):
        area_km2 = _area_km2(geom)
        n = max(round(pop / RESIDENTS_PER_SITE), math.ceil(area_km2 / KM2_PER_SITE_MIN), 1)
        inside = shapely.contains_xy(geom, poi_lon, poi_lat)
        n_near = round(n * 0.7) if inside.sum() >= 5 else 0
        if n_near:
            pick = rng.choice(np.flatnonzero(inside), n_near, replace=True)
            x, y = sample_near(geom, poi_lon[pick], poi_lat[pick], 120.0, rng)
            lons.append(x)
            lats.append(y)
        x, y = sample_points_in(geom, n - n_near, rng)
        lons.append(x)
        lats.append(y)
    return np.concatenate(lons), np.concatenate(lats)


def _raster_and_ranges(berlin: BaseGeometry, site_lon: np.ndarray, site_lat: np.ndarray,
                       ) -> tuple[np.ndarray, tuple[float, float], np.ndarray]:
    """The raster of the three nearest sites over Berlin's bounding box, its origin, and each
    site's range: it covers every raster point inside Berlin for which the site is nearest, with
    margin, and reaches well towards its nearest neighbour."""
    minx, miny, maxx, maxy = berlin.bounds
    origin = (minx - 0.01, miny - 0.01)
    nx = math.ceil((maxx + 0.01 - origin[0]) / RASTER_DLON)
    ny = math.ceil((maxy + 0.01 - origin[1]) / RASTER_DLAT)
    gx, gy = np.meshgrid(origin[0] + (np.arange(nx) + 0.5) * RASTER_DLON,
                         origin[1] + (np.arange(ny) + 0.5) * RASTER_DLAT)
    rlon, rlat = gx.ravel(), gy.ravel()
    near_idx, near_d = _nearest_three_gridded(rlon, rlat, site_lon, site_lat, nx, ny, origin)
    raster = near_idx.reshape(ny, nx, 3)

    shapely.prepare(berlin)
    inside = shapely.contains_xy(berlin, rlon, rlat)
    reach = np.zeros(len(site_lon))
    np.maximum.at(reach, near_idx[inside, 0], near_d[inside, 0])
    _nn_idx, nn_d = _nearest_three(site_lon, site_lat, site_lon, site_lat)  # [:,0] is the site itself
    range_m = np.clip(np.maximum(1.25 * reach, 1.6 * nn_d[:, 1]), 500.0, 8000.0)
    return raster, origin, np.ceil(range_m / 50.0) * 50.0


def unknown_cell_id(k: int) -> str:
    """A syntactically valid ECGI that is never in the plan (used by the unknown_cell fault)."""
    return f"{MCC}-{MNC:02d}-{UNKNOWN_ENB_BASE + (k % 8000)}-{1 + k % 3}"


def _area_km2(geom: BaseGeometry) -> float:
    c = geom.centroid
    m_lon, m_lat = metres_per_degree(c.y)
    return float(geom.area * m_lon * m_lat / 1e6)
