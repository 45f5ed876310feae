-- Which districts had the most visitors on the demo Saturday?
-- Visitors summed over the published age x gender cells of the day (a lower bound where a
-- cohort is suppressed: see "Why cohorts do not add up" in docs/analysts.md).
SELECT zone_name,
       SUM(visitors)                                   AS visitors_in_published_cohorts,
       COUNT(*)                                        AS cohort_cells,
       COUNT(CASE WHEN status <> 'published' THEN 1 END) AS suppressed_cells
  FROM footfall.zone_daily_named
 WHERE zone_set = 'districts' AND event_date = DATE'2026-03-14'
 GROUP BY zone_name
 ORDER BY visitors_in_published_cohorts DESC
 LIMIT 5;
