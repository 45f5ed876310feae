-- Who visits Mitte? The cohort mix of the day over the published cells.
SELECT age_band, gender, visitors,
       ROUND(visitors / SUM(visitors) OVER (), 3) AS share_of_published
  FROM footfall.zone_daily_named
 WHERE zone_set = 'districts' AND zone_name = 'Mitte'
   AND event_date = DATE'2026-03-14' AND status = 'published'
 ORDER BY visitors DESC;
