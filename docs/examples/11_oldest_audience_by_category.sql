-- Which store-front categories draw the oldest audience? Share of 65+ among the visitors of
-- the published daily cohort cells.
SELECT category,
       SUM(visitors)                                                      AS visitors,
       ROUND(SUM(CASE WHEN age_band = '65+' THEN visitors ELSE 0 END) / SUM(visitors), 3) AS share_65plus
  FROM footfall.zone_daily_named
 WHERE zone_set = 'storefronts' AND event_date = DATE'2026-03-14' AND status = 'published'
 GROUP BY category
 ORDER BY share_65plus DESC;
