-- How much was suppressed, per published table and zone set?
SELECT table_name, zone_set,
       SUM(cells)                                                          AS cells,
       SUM(CASE WHEN status = 'suppressed_primary' THEN cells ELSE 0 END)   AS suppressed_primary,
       SUM(CASE WHEN status = 'suppressed_secondary' THEN cells ELSE 0 END) AS suppressed_secondary,
       ROUND(SUM(CASE WHEN status <> 'published' THEN cells ELSE 0 END) / SUM(cells), 3) AS suppressed_share
  FROM footfall.cell_status
 WHERE event_date = DATE'2026-03-14'
 GROUP BY table_name, zone_set
 ORDER BY table_name, zone_set;
