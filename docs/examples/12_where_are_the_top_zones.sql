-- Where are the five busiest store fronts? Their centre as lon/lat, with Sedona's ST_ functions
-- on the WKB geometry of ref.zones (in DuckDB: ST_Centroid(geom) with the spatial extension).
WITH daily AS (
  SELECT zone_set, zone_id, SUM(visitors) AS visitors
    FROM footfall.zone_daily
   WHERE zone_set = 'storefronts' AND event_date = DATE'2026-03-14' AND status = 'published'
   GROUP BY zone_set, zone_id)
SELECT z.zone_name, z.category, d.visitors,
       ROUND(ST_X(ST_Centroid(ST_GeomFromWKB(z.geometry))), 5) AS lon,
       ROUND(ST_Y(ST_Centroid(ST_GeomFromWKB(z.geometry))), 5) AS lat
  FROM daily d
  JOIN ref.zones z ON d.zone_set = z.zone_set AND d.zone_id = z.zone_id
 ORDER BY d.visitors DESC
 LIMIT 5;
