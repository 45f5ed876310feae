-- Passers-by vs visitors per hour at a station (the busiest S-Bahn store front of the day).
-- visits = passersby (< 5 min) + longer visits; visitors are distinct people in the hour.
WITH busiest AS (
  SELECT zone_id
    FROM footfall.zone_hourly_total_named
   WHERE zone_set = 'storefronts' AND category = 'sbahn-stops' AND event_date = DATE'2026-03-14'
   GROUP BY zone_id
   ORDER BY SUM(visits) DESC NULLS LAST
   LIMIT 1)
SELECT t.zone_name, t.local_hour, t.visitors, t.visits, t.passersby,
       ROUND(t.passersby / t.visits, 2) AS passersby_share, t.status
  FROM footfall.zone_hourly_total_named t
  JOIN busiest b ON t.zone_id = b.zone_id
 WHERE t.zone_set = 'storefronts' AND t.event_date = DATE'2026-03-14'
 ORDER BY t.hour_start;
