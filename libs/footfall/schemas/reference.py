"""The reference tables (ref.*): zones and what is derived from them, the cell plan, postcodes
and the resident population. Re-exported by footfall.schemas, the place every schema is read from.
"""

from __future__ import annotations

from pyspark.sql.types import BinaryType, BooleanType, DateType, DoubleType, IntegerType, LongType, StringType

from footfall.schemas.columns import C
from footfall.schemas.table import Table
from footfall.schemas.table import column as _col

ZONES = Table(
    "ref.zones",
    (
        _col(C.ZONE_SET, StringType(), "Zone set name (one file per set)", False),
        _col(C.ZONE_ID, StringType(), "Zone identifier, unique within its set", False),
        _col(C.ZONE_NAME, StringType(), "Human-readable zone name"),
        _col(C.CATEGORY, StringType(), "Zone category, e.g. district, locality, supermarkets, cafes"),
        _col(C.GEOMETRY, BinaryType(), "Polygon or MultiPolygon as WKB, lon/lat (EPSG:4326)", False),
        _col(C.AREA_M2, DoubleType(), "Area in square metres, computed in EPSG:25833 (UTM 33N)", False),
    ),
    "Zone catalogue: the polygons footfall is counted in",
)
ZONE_RELATIONS = Table(
    "ref.zone_relations",
    (
        _col(C.ZONE_SET, StringType(), "Set of the zone that is (nearly) the union of zones of another set", False),
        _col(C.ZONE_ID, StringType(), "That zone", False),
        _col(C.PART_SET, StringType(), "Set of its parts", False),
        _col(C.PART_ID, StringType(), "One of its parts (a zone of part_set lying mostly inside it)", False),
        _col(C.DIFFERENCE_M2, DoubleType(), "Area of the zone's symmetric difference with the union of its parts, "
             "m2 (EPSG:25833)", False),
    ),
    "Zones that nearly equal the union of zones of another set, one row per part: disclosure control protects "
    "the people in two parts at once, or in none (docs/privacy.md)",
)
ZONE_COVER = Table(
    "ref.zone_cover",
    (
        _col(C.ZONE_SET, StringType(), "Zone set", False),
        _col(C.ZONE_ID, StringType(), "A zone of the set", False),
        _col(C.GRID_LEVEL, IntegerType(), "The set's grid: square lon/lat cells of 2^-grid_level degrees", False),
        _col(C.CELL_X, IntegerType(), "A grid cell the zone meets: floor(lon * 2^grid_level)", False),
        _col(C.CELL_Y, IntegerType(), "... and floor(lat * 2^grid_level)", False),
        _col(C.CORE, BooleanType(), "The zone covers the whole cell, edges included", False),
        _col(C.PIECE, BinaryType(), "The zone clipped to the cell (WKB); NULL for a core cell"),
        _col(C.RIM, BinaryType(), "The zone's boundary in the cell and the cell's outline (WKB); NULL for a core cell"),
        _col(C.ZONES_HASH, StringType(), "Fingerprint of the set's polygons the cover was built from", False),
    ),
    "The zone sets covered by grid cells: the spatial join as an equi-join on the cell (footfall.zones.cover)",
    partition_by=(C.ZONE_SET,),
)
CELLS = Table(
    "ref.cells",
    (
        _col(C.CELL_ID, StringType(), "ECGI-style cell id (MCC 262)", False),
        _col(C.SITE_ID, StringType(), "Site (mast) id"),
        _col(C.LON, DoubleType(), "Site longitude (EPSG:4326)"),
        _col(C.LAT, DoubleType(), "Site latitude (EPSG:4326)"),
        _col(C.AZIMUTH_DEG, DoubleType(), "Sector azimuth in degrees from north"),
        _col(C.BEAMWIDTH_DEG, DoubleType(), "Sector beam width in degrees"),
        _col(C.RANGE_M, DoubleType(), "Nominal cell range in metres"),
        _col(C.RADIO, StringType(), "Radio technology, e.g. LTE, NR"),
        _col(C.VALID_FROM, DateType(), "First day the cell is in the plan"),
        _col(C.VALID_TO, DateType(), "Last day the cell is in the plan (NULL: open)"),
    ),
    "Network cell plan",
)
POSTCODES = Table(
    "ref.postcodes",
    (
        _col(C.POSTCODE, StringType(), "Postcode as in the CRM (trimmed)", False),
        _col(C.HOME_DISTRICT, StringType(), "The district the postcode lies (mostly) in: a zone_id of the district "
             "zone set", False),
    ),
    "Postcode to home district (landing postcodes/postcodes.csv): the catchment's districts",
)
POPULATION = Table(
    "ref.population",
    (_col(C.HOME_DISTRICT, StringType(), "Home district: a zone_id of the district zone set", False),
     _col(C.AGE_BAND, StringType(), "Age band: 18-24 ... 65+", False), _col(C.GENDER, StringType(), "F or M", False),
     _col(C.POPULATION, LongType(), "Residents of the stratum (adults 18+)", False)),
    "Residents by home district x age band x gender (landing population/population.csv): the population "
    "estimates' frame",
)
