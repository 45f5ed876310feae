import dataclasses
import datetime as dt
import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from chispa import assert_df_equality
from pyproj import Transformer
from support import REFERENCE_DIR

from footfall.errors import BadInputError
from footfall.landing.crm import (
    dedupe_subscribers,
    opted_out_before,
    with_age_band,
    with_excluded_reason,
    with_normalised_attributes,
)
from footfall.landing.files import check_header
from footfall.localtime import local_day_start_utc
from footfall.pipeline.reference import load_zones
from footfall.schemas import ZONE_COVER
from footfall.synthetic.reference import load_reference
from footfall.synthetic.vocabulary import DEFAULT_BUFFER_M, STOREFRONT_CATEGORIES
from footfall.synthetic.zones import build_zone_sets, storefront_buffers
from footfall.tables import table_version
from footfall.zones.load import read_zone_file
from footfall.zones.relations import near_duplicates, unions

DAY = dt.date(2026, 3, 14)
SQUARE = "POLYGON((13.40 52.50, 13.41 52.50, 13.41 52.51, 13.40 52.51, 13.40 52.50))"
# a zero-width spike along the east edge: invalid, and make_valid drops only the spike
SPIKE = "POLYGON((13.40 52.50, 13.41 52.50, 13.41 52.51, 13.41 52.52, 13.41 52.51, 13.40 52.51, 13.40 52.50))"
BOWTIE = "POLYGON((13.40 52.50, 13.41 52.51, 13.41 52.50, 13.40 52.51, 13.40 52.50))"


def _geojson(path: Path, zones: list[tuple[object, str]]) -> Path:
    features = [
        {"type": "Feature", "properties": {"zone_id": zid, "name": f"zone {zid}", "category": "test"},
         "geometry": shapely.geometry.mapping(shapely.from_wkt(wkt))}
        for zid, wkt in zones
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_age_band_at_the_processing_date(spark):
    births = spark.createDataFrame(
        [(1, "2008-03-14"), (2, "2008-03-15"), (3, "2001-03-14"), (4, "1961-03-15"), (5, "1961-03-14"),
         (6, None), (7, "garbage"), (8, "2027-01-01"), (9, "1990-02-30"), (10, "1980-06-01")],
        "n int, birth_date string",
    )
    expected = spark.createDataFrame(
        [(1, "18-24"), (2, "under_18"), (3, "25-34"), (4, "55-64"), (5, "65+"), (6, "unknown"), (7, "unknown"),
         (8, "unknown"), (9, "unknown"), (10, "45-54")],
        "n int, age_band string",
    )
    out = births.transform(with_age_band, DAY).select("n", "age_band")
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


def test_gender_and_contract_type_are_normalised(spark):
    raw = spark.createDataFrame(
        [(1, "F", "consumer"), (2, "m", "Business"), (3, "female", " m2m"), (4, "w", "IoT"), (5, "X", "prepaid"),
         (6, None, None), (7, " M ", "")],
        "n int, gender string, contract_type string",
    )
    expected = spark.createDataFrame(
        [(1, "F", "consumer"), (2, "M", "business"), (3, "F", "m2m"), (4, "F", "m2m"), (5, "unknown", "unknown"),
         (6, "unknown", "unknown"), (7, "M", "unknown")],
        "n int, gender string, contract_type string",
    )
    assert_df_equality(raw.transform(with_normalised_attributes), expected, ignore_row_order=True,
                       ignore_nullable=True)


def test_duplicate_crm_rows_keep_the_smallest_deterministically(spark):
    raw = spark.createDataFrame(
        [("+49 170 1", "1990-01-01", "F", "consumer", "10115"), ("0049 1701", "1980-01-01", "M", "consumer", "10115"),
         ("491702", None, "M", "business", None), ("491702", "1985-05-05", "M", "business", None),
         (None, "1970-01-01", "F", "consumer", "10117")],
        "msisdn string, birth_date string, gender string, contract_type string, postcode string",
    )
    expected = spark.createDataFrame(
        [("491701", "1980-01-01", "M", "consumer", "10115"), ("491702", None, "M", "business", None)],
        "msisdn string, birth_date string, gender string, contract_type string, postcode string",
    )
    assert_df_equality(raw.transform(dedupe_subscribers), expected, ignore_row_order=True, ignore_nullable=True)


def test_exclusions_opt_out_before_local_day_then_m2m_then_minor(spark):
    start = local_day_start_utc(DAY, "Europe/Berlin")
    assert start == dt.datetime(2026, 3, 13, 23, 0)  # CET, UTC+1
    optouts = spark.createDataFrame(
        [("491", "2026-03-13T22:59:59Z"), ("492", "2026-03-13T23:00:00Z"), ("493", "yesterday"),
         ("+49 5", "2026-01-01T00:00:00Z"), (None, "2026-01-01T00:00:00Z")],
        "msisdn string, opted_out_at string",
    )
    subscribers = spark.createDataFrame(
        [("491", "35-44", "consumer"), ("492", "35-44", "consumer"), ("493", "under_18", "m2m"),
         ("494", "18-24", "m2m"), ("495", "under_18", "consumer"), ("496", "unknown", "business"),
         ("497", "under_18", "m2m"), ("498", "under_18", "consumer"), (None, "25-34", "consumer")],
        "msisdn string, age_band string, contract_type string",
    )
    out = subscribers.transform(with_excluded_reason, opted_out_before(optouts, start))
    expected = spark.createDataFrame(
        [("491", "35-44", "consumer", "opted_out"), ("492", "35-44", "consumer", None),
         ("493", "unknown", "m2m", "opted_out"), ("494", "18-24", "m2m", "m2m"),
         ("495", "unknown", "consumer", "opted_out"), ("496", "unknown", "business", None),
         ("497", "unknown", "m2m", "m2m"), ("498", "unknown", "consumer", "under_18"),
         (None, "25-34", "consumer", None)],
        "msisdn string, age_band string, contract_type string, excluded_reason string",
    )
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


def _write(folder: Path, doc: dict) -> Path:
    path = folder / "districts.geojson"
    path.write_text(json.dumps(doc))
    return path


def test_berlin_districts_load_with_areas_within_half_a_percent(tmp_path):
    doc = json.loads(gzip.decompress((REFERENCE_DIR / "berlin_bezirke.geojson.gz").read_bytes()))
    published = {}
    for feature in doc["features"]:
        feature["properties"]["zone_id"] = feature["properties"]["id"]
        published[feature["properties"]["id"]] = float(feature["properties"]["area"])
    # The file's `area` of 04 Charlottenburg-Wilmersdorf (59.76 km2) disagrees with its own polygon;
    # the official area of the district is 64.72 km2.
    published["04"] = 64.72e6
    rows = read_zone_file(_write(tmp_path, doc))
    assert len(rows) == 12 and {r[0] for r in rows} == {"districts"}
    for _, zone_id, _, _, wkb, area in rows:
        assert shapely.from_wkb(wkb).is_valid
        assert area == pytest.approx(published[zone_id], rel=0.005), zone_id


def test_spike_is_repaired_and_bowtie_refused(tmp_path):
    rows = read_zone_file(_geojson(tmp_path / "shops.geojson", [("a", SQUARE), (7, SPIKE)]))
    assert [r[:4] for r in rows] == [("shops", "a", "zone a", "test"), ("shops", "7", "zone 7", "test")]
    square, spike = (shapely.from_wkb(r[4]) for r in rows)
    assert spike.is_valid and spike.equals(square)
    assert rows[0][5] == pytest.approx(rows[1][5])
    # 0.01 deg x 0.01 deg at 52.5 N: about 679 m x 1113 m
    assert rows[0][5] == pytest.approx(679.0 * 1113.0, rel=0.01)
    with pytest.raises(BadInputError, match=r"zone 'b' is an invalid polygon.*fix it"):
        read_zone_file(_geojson(tmp_path / "bad.geojson", [("a", SQUARE), ("b", BOWTIE)]))


def test_duplicate_ids_and_non_polygons_are_refused(tmp_path):
    with pytest.raises(BadInputError, match=r"zone id 'a' twice"):
        read_zone_file(_geojson(tmp_path / "dup.geojson", [("a", SQUARE), ("a", SQUARE)]))
    with pytest.raises(BadInputError, match=r"zone 'p' is a Point"):
        read_zone_file(_geojson(tmp_path / "pt.geojson", [("p", "POINT(13.4 52.5)")]))


@pytest.mark.parametrize(("epsg", "guess"), [(25833, r"ETRS89 / UTM zone 33N \(EPSG:25833\)"),
                                             (3857, r"WGS 84 / Pseudo-Mercator \(EPSG:3857\)")])
def test_projected_coordinates_are_refused_with_the_likely_crs(tmp_path, epsg, guess):
    to_projected = Transformer.from_crs(4326, epsg, always_xy=True)
    projected = shapely.transform(shapely.from_wkt(SQUARE), to_projected.transform, interleaved=False)
    path = _geojson(tmp_path / "proj.geojson", [("a", projected.wkt)])
    with pytest.raises(BadInputError, match=rf"not lon/lat .*looks like {guess}; reproject it to EPSG:4326"):
        read_zone_file(path)


def test_wkt_csv_and_geoparquet_give_the_same_rows_as_geojson(tmp_path):
    expected = read_zone_file(_geojson(tmp_path / "set.geojson", [("a", SQUARE), ("b", SPIKE)]))
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "set.csv").write_text(
        f'zone_id,name,category,wkt\na,zone a,test,"{SQUARE}"\nb,zone b,test,"{SPIKE}"\n'
    )
    (tmp_path / "pq").mkdir()
    table = pa.table({"zone_id": ["a", "b"], "name": ["zone a", "zone b"], "category": ["test", "test"],
                      "geometry": [shapely.to_wkb(shapely.from_wkt(w)) for w in (SQUARE, SPIKE)]})
    pq.write_table(table, tmp_path / "pq" / "set.parquet")
    for path in (tmp_path / "csv" / "set.csv", tmp_path / "pq" / "set.parquet"):
        assert read_zone_file(path) == expected


def test_header_check_names_file_and_expected_header(tmp_path):
    path = tmp_path / "subscribers.csv"
    path.write_text("msisdn,birthday\n1,2\n")
    with pytest.raises(BadInputError, match=r"subscribers\.csv does not start with the header 'msisdn,birth_date' "
                       r"\(found 2 columns, missing birth_date\)"):
        check_header(path, ("msisdn", "birth_date"))
    path.write_text("4917612345678,1990-01-01\n")  # no header: the data row must not be echoed
    with pytest.raises(BadInputError) as err:
        check_header(path, ("msisdn", "birth_date"))
    assert "4917612345678" not in str(err.value)
    path.write_text("msisdn,birth_date\n")
    check_header(path, ("msisdn", "birth_date"))


_TO_LONLAT = Transformer.from_crs(25833, 4326, always_xy=True)
_TO_UTM = Transformer.from_crs(4326, 25833, always_xy=True)


def _rectangle_m(x0: float, y0: float, width: float, height: float) -> str:
    """A rectangle in metres with its south-west corner at (x0, y0) in EPSG:25833, as lon/lat WKT."""
    box = shapely.box(x0, y0, x0 + width, y0 + height)
    return shapely.to_wkt(shapely.transform(box, _TO_LONLAT.transform, interleaved=False), rounding_precision=9)


def _square_m(x0: float, y0: float, side: float = 100.0) -> str:
    """A square of `side` metres with its south-west corner at (x0, y0) in EPSG:25833, as lon/lat WKT."""
    return _rectangle_m(x0, y0, side, side)


def _zones(*wkts: str) -> list[tuple[str, object]]:
    return [(f"z{i}", shapely.from_wkt(w)) for i, w in enumerate(wkts)]


def test_near_duplicate_zones_are_found_with_their_symmetric_difference():
    x, y = 390_000.0, 5_820_000.0  # central Berlin in UTM 33N
    zones = _zones(_square_m(x, y), _square_m(x + 2, y), _square_m(x + 500, y), _square_m(x + 500, y),
                   _square_m(x + 1000, y), _square_m(x + 1010, y))
    pairs = near_duplicates(zones, 1000.0)
    # z0/z1: shifted 2 m -> 2 x 2 m x 100 m = 400 m2. z2/z3 identical: no sliver, not a risk.
    # z4/z5: shifted 10 m -> 2,000 m2, above the minimum.
    assert [(a, b) for a, b, _ in pairs] == [("z0", "z1")]
    assert pairs[0][2] == pytest.approx(400.0, rel=0.01)
    assert near_duplicates(zones, 2500.0)[-1][:2] == ("z4", "z5")


def test_loading_a_near_duplicate_of_a_catalogue_zone_is_refused_with_both_ids(spark, test_config, tmp_path, claim):
    claim(zone_sets=["neardup_a", "neardup_b"])
    x, y = 392_000.0, 5_818_000.0
    first = _geojson(tmp_path / "neardup_a.geojson", [("a1", _square_m(x, y))])
    second = _geojson(tmp_path / "neardup_b.geojson", [("b1", _square_m(x + 3, y))])
    try:
        assert load_zones(spark, test_config, [first])["zones.neardup_a"] == 1
        with pytest.raises(BadInputError, match=r"neardup_a/a1 and neardup_b/b1 \(600 m2\)"):
            load_zones(spark, test_config, [second])
        assert spark.table("ref.zones").where("zone_set = 'neardup_b'").count() == 0  # nothing written
        # Reloading the same zone set replaces it, so it is not compared with its old self.
        assert load_zones(spark, test_config, [first])["zones.neardup_a"] == 1
    finally:
        spark.sql("DELETE FROM ref.zones WHERE zone_set IN ('neardup_a', 'neardup_b')")


def test_zones_nearly_the_union_of_another_sets_zones_are_found():
    x, y = 390_000.0, 5_820_000.0
    zones = [
        ("big", "u", shapely.from_wkt(_rectangle_m(x, y, 200, 100))),  # 20,000 m2
        ("big", "v", shapely.from_wkt(_rectangle_m(x + 1000, y, 200, 100))),
        ("big", "w", shapely.from_wkt(_rectangle_m(x + 2000, y, 100, 100))),
        ("small", "a", shapely.from_wkt(_rectangle_m(x, y, 100, 100))),  # u = a + b exactly
        ("small", "b", shapely.from_wkt(_rectangle_m(x + 100, y, 100, 100))),
        ("small", "c", shapely.from_wkt(_rectangle_m(x + 1000, y, 100, 100))),  # v = c + d but for 1 m
        ("small", "d", shapely.from_wkt(_rectangle_m(x + 1100, y, 99, 100))),
        ("small", "e", shapely.from_wkt(_rectangle_m(x + 2000, y, 60, 100))),  # w is e and 40 % more
    ]
    found = {(s, z, p): (parts, d) for s, z, p, parts, d in unions(zones, 0.01)}
    assert set(found) == {("big", "u", "small"), ("big", "v", "small")}
    assert found[("big", "u", "small")] == (["a", "b"], pytest.approx(0.0, abs=0.1))  # WKT rounding: a few cm2
    assert found[("big", "v", "small")][0] == ["c", "d"]
    assert found[("big", "v", "small")][1] == pytest.approx(100.0, rel=0.01)  # the 1 m x 100 m strip
    # a share of 0.4 % refuses v's 0.5 % strip
    assert {(s, z) for s, z, *_ in unions(zones, 0.004)} == {("big", "u")}


def test_load_reference_records_the_union_of_another_sets_zones(spark, test_config, tmp_path, claim):
    claim(zone_sets=["nest_u", "nest_p"])
    x, y = 394_000.0, 5_816_000.0
    whole = _geojson(tmp_path / "nest_u.geojson", [("u1", _rectangle_m(x, y, 200, 100))])
    halves = _geojson(tmp_path / "nest_p.geojson", [("p1", _rectangle_m(x, y, 100, 100)),
                                                   ("p2", _rectangle_m(x + 100, y, 100, 100))])
    try:
        load_zones(spark, test_config, [whole, halves])
        rows = spark.table("ref.zone_relations").where("zone_set = 'nest_u'").collect()
        assert sorted((r.zone_id, r.part_set, r.part_id) for r in rows) == [("u1", "nest_p", "p1"),
                                                                           ("u1", "nest_p", "p2")]
        assert all(r.difference_m2 < 0.1 for r in rows)
    finally:
        spark.sql("DELETE FROM ref.zones WHERE zone_set IN ('nest_u', 'nest_p')")
        spark.sql("DELETE FROM ref.zone_relations WHERE zone_set = 'nest_u'")



def test_load_reference_covers_a_zone_set_within_the_configured_cells(spark, test_config, tmp_path, claim):
    """spatial.cover_max_cells sets the cover's level. A square of 2^-7 degrees on the grid spans
    (2^(l-7) + 1)^2 bounding-box cells at level l (its east and north edges lie on grid lines):
    81 at 10, 289 at 11, so at most 250 cells give level 10. Its rows: the 8 x 8 cells inside
    (core) and the 17 cells beyond its east and north edges that only touch it (ST_Intersects
    counts a point on the edge). Loading the same zones again keeps the cover (no commit); the
    local default of 50,000 cells wants level 14 (129^2 = 16,641 cells; 66,049 at 15), and gets it."""
    claim(zone_sets=["cover_cap"])
    square = _geojson(tmp_path / "cover_cap.geojson", [  # 13.0078125 = 13 + 2^-7, exact in binary
        ("q", "POLYGON((13 52, 13.0078125 52, 13.0078125 52.0078125, 13 52.0078125, 13 52))")])
    capped = dataclasses.replace(test_config, spatial=dataclasses.replace(test_config.spatial, cover_max_cells=250))
    try:
        load_zones(spark, capped, [square])
        def cells(*by: str) -> list[tuple]:
            cover = spark.table("ref.zone_cover").where("zone_set = 'cover_cap'")
            return sorted(tuple(r) for r in cover.groupBy(*by).count().collect())

        assert cells("grid_level", "core") == [(10, False, 17), (10, True, 64)]
        version = table_version(spark, ZONE_COVER)
        load_zones(spark, capped, [square])
        assert table_version(spark, ZONE_COVER) == version
        load_zones(spark, test_config, [square])
        assert table_version(spark, ZONE_COVER) == version + 1
        assert cells("grid_level") == [(14, 129 * 129)]
    finally:
        spark.sql("DELETE FROM ref.zones WHERE zone_set = 'cover_cap'")
        spark.sql("DELETE FROM ref.zone_cover WHERE zone_set = 'cover_cap'")

def _near_duplicate_pairs(geometries: list) -> dict[int, set[int]]:
    """For each zone (lon/lat), the earlier zones whose symmetric difference with it is more than
    0 and less than 1,000 m2: computed here with pyproj and shapely, not footfall.zones.relations."""
    metric = np.asarray([shapely.transform(g, _TO_UTM.transform, interleaved=False) for g in geometries])
    left, right = shapely.STRtree(metric).query(metric, predicate="intersects")
    left, right = left[left < right], right[left < right]
    sliver = shapely.area(shapely.symmetric_difference(metric[left], metric[right]))
    near: dict[int, set[int]] = {}
    for a, b in zip(left[(sliver > 0) & (sliver < 1000.0)], right[(sliver > 0) & (sliver < 1000.0)], strict=True):
        near.setdefault(int(b), set()).add(int(a))
    return near


def test_the_generators_store_fronts_drop_exactly_their_near_duplicates():
    """The generator's rule (footfall.synthetic.zones.distinct_zones): of the 25 m buffers around
    the store-front POIs, in zone id order, a buffer that nearly duplicates an earlier kept one
    is dropped, so that load-reference accepts the zone sets; nothing else is dropped."""
    ref = load_reference(str(REFERENCE_DIR))
    zones = build_zone_sets(ref)
    shops = ref.pois[ref.pois["category"].isin(STOREFRONT_CATEGORIES)].drop_duplicates("osm_id")
    buffers = sorted(zip("osm-" + shops["osm_id"], storefront_buffers(shops["lon"].to_numpy(), shops["lat"].to_numpy(),
                                                                      DEFAULT_BUFFER_M), strict=True))
    near = _near_duplicate_pairs([g for _, g in buffers])
    kept: set[int] = set()
    for i in range(len(buffers)):
        if not near.get(i, set()) & kept:
            kept.add(i)
    assert len(kept) < len(buffers)  # the Berlin POIs do have shops a few metres apart
    assert [z.zone_id for z in zones["storefronts"]] == [buffers[i][0] for i in sorted(kept)]
    # and the catalogue the generator delivers (districts, localities, store fronts) has no pair left
    everything = [z.geometry for zone_set in zones.values() for z in zone_set]
    assert _near_duplicate_pairs(everything) == {}
