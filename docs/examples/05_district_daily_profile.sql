-- When in the day is Mitte busiest? (convenience view over all published days)
SELECT local_hour, days, published_days, ROUND(visitors_mean, 1) AS visitors_mean, visitors_max
  FROM footfall.zone_daily_profile
 WHERE zone_set = 'districts' AND zone_name = 'Mitte'
 ORDER BY local_hour;
