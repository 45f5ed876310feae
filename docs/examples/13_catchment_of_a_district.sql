-- Where do Friedrichshain-Kreuzberg's visitors of the day live? The published home districts,
-- with their share of the day's visitors (the withheld ones hold the rest).
SELECT c.home_district, h.zone_name AS home_name, c.visitors,
       ROUND(c.visitors / t.visitors, 3) AS share_of_day
  FROM footfall.zone_catchment_named c
  JOIN footfall.zone_daily_total t
    ON t.zone_set = c.zone_set AND t.zone_id = c.zone_id AND t.event_date = c.event_date
  LEFT JOIN ref.zones h ON h.zone_set = 'districts' AND h.zone_id = c.home_district
 WHERE c.zone_set = 'districts' AND c.zone_name = 'Friedrichshain-Kreuzberg'
   AND c.event_date = DATE'2026-03-14' AND c.status = 'published' AND t.status = 'published'
 ORDER BY c.visitors DESC;
