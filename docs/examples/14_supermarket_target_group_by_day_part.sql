-- When do women aged 65+ come to each supermarket? Their visitors per day part (local: morning
-- 06-10, midday 10-14, afternoon 14-18, evening 18-24; the night is left out), for the
-- supermarkets with at least one published day part for them. NULL = suppressed, not zero.
SELECT zone_name,
       MAX(CASE WHEN day_part = 'morning' THEN visitors END)   AS morning,
       MAX(CASE WHEN day_part = 'midday' THEN visitors END)    AS midday,
       MAX(CASE WHEN day_part = 'afternoon' THEN visitors END) AS afternoon,
       MAX(CASE WHEN day_part = 'evening' THEN visitors END)   AS evening
  FROM footfall.zone_daypart_named
 WHERE zone_set = 'storefronts' AND category = 'supermarkets'
   AND event_date = DATE'2026-03-14' AND age_band = '65+' AND gender = 'F'
 GROUP BY zone_id, zone_name
HAVING COUNT(visitors) > 0
 ORDER BY zone_name;
