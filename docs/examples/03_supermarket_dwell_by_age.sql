-- How long do people stay in front of supermarkets, by age band?
-- The median over the published store-front cells of their median dwell (pass-bys excluded),
-- and the exact share of visits that lasted 15 minutes or more, over the cells whose dwell
-- histogram is published (a published cell may withhold it: docs/analysts.md, status).
SELECT age_band,
       COUNT(*)                                             AS published_cells,
       ROUND(percentile(dwell_median_min, 0.5), 1)          AS median_of_cell_medians_min,
       ROUND(SUM(dwell_15_60 + dwell_60plus) / SUM(visits), 3) AS share_15min_plus
  FROM footfall.zone_daily_named
 WHERE zone_set = 'storefronts' AND category = 'supermarkets'
   AND event_date = DATE'2026-03-14' AND status = 'published' AND dwell_15_60 IS NOT NULL
 GROUP BY age_band
 ORDER BY age_band;
