-- Visitors per square kilometre in the peak hour of each district (area from ref.zones).
SELECT t.zone_name,
       MAX(t.visitors)                                AS peak_hour_visitors,
       ROUND(z.area_m2 / 1e6, 1)                      AS area_km2,
       ROUND(MAX(t.visitors) / (z.area_m2 / 1e6), 1)  AS peak_visitors_per_km2
  FROM footfall.zone_hourly_total_named t
  JOIN ref.zones z ON t.zone_set = z.zone_set AND t.zone_id = z.zone_id
 WHERE t.zone_set = 'districts' AND t.event_date = DATE'2026-03-14'
 GROUP BY t.zone_name, z.area_m2
 ORDER BY peak_visitors_per_km2 DESC NULLS LAST;
