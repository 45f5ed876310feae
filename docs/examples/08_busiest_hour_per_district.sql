-- The busiest local hour of each district (all cohorts together).
SELECT zone_name,
       max_by(local_hour, visitors) AS busiest_local_hour,
       MAX(visitors)                AS visitors_then
  FROM footfall.zone_hourly_total_named
 WHERE zone_set = 'districts' AND event_date = DATE'2026-03-14' AND status = 'published'
 GROUP BY zone_name
 ORDER BY visitors_then DESC;
