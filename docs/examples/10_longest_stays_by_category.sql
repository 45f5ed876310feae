-- Which kinds of store front hold people longest? Share of visits of 15 minutes or more per
-- category, over the hourly totals of the day whose dwell histogram is published (a published
-- cell may withhold it while showing its visit count: summing those visits would dilute the shares).
SELECT category,
       COUNT(DISTINCT zone_id)                                  AS store_fronts,
       SUM(visits)                                              AS visits,
       ROUND(SUM(dwell_15_60 + dwell_60plus) / SUM(visits), 3)  AS share_15min_plus,
       ROUND(SUM(passersby) / SUM(visits), 3)                   AS passersby_share
  FROM footfall.zone_hourly_total_named
 WHERE zone_set = 'storefronts' AND event_date = DATE'2026-03-14' AND status = 'published'
   AND dwell_15_60 IS NOT NULL
 GROUP BY category
 ORDER BY share_15min_plus DESC;
