-- Which districts have the most women aged 25-34 on Saturday afternoons (12:00-17:59 local)?
-- Mean over the published afternoon hours; `hours_published` says how many of the 6 hours
-- carried a number (the others were suppressed, not zero).
SELECT zone_name,
       ROUND(AVG(visitors), 1) AS mean_visitors_per_hour,
       MAX(visitors)           AS peak_visitors,
       COUNT(visitors)         AS hours_published
  FROM footfall.zone_hourly_named
 WHERE zone_set = 'districts'
   AND dayofweek(event_date) = 7          -- Spark: 1 = Sunday ... 7 = Saturday
   AND local_hour BETWEEN 12 AND 17
   AND gender = 'F' AND age_band = '25-34'
 GROUP BY zone_name
 ORDER BY mean_visitors_per_hour DESC NULLS LAST
 LIMIT 5;
