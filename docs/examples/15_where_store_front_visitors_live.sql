-- Where do a store front's visitors live? The published home districts of the three store fronts
-- with the most visitors in published catchment cells (home districts with fewer than k
-- visitors, or withheld to protect them, are left out: they hold the rest, not zero).
WITH top AS (
  SELECT zone_id, SUM(visitors) AS published
    FROM footfall.zone_catchment
   WHERE zone_set = 'storefronts' AND event_date = DATE'2026-03-14' AND status = 'published'
   GROUP BY zone_id
   ORDER BY published DESC, zone_id
   LIMIT 3)
SELECT c.zone_name, c.category, c.home_district, h.zone_name AS home_name, c.visitors
  FROM footfall.zone_catchment_named c
  JOIN top ON top.zone_id = c.zone_id
  LEFT JOIN ref.zones h ON h.zone_set = 'districts' AND h.zone_id = c.home_district
 WHERE c.zone_set = 'storefronts' AND c.event_date = DATE'2026-03-14' AND c.status = 'published'
 ORDER BY top.published DESC, c.zone_id, c.visitors DESC, c.home_district;
