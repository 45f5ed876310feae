-- How much was suppressed, per published table and zone set?
SELECT table_name, zone_set,
       SUM(cells)                                                        AS cells,
       SUM(CASE WHEN status = 'suppressed' THEN cells ELSE 0 END)        AS suppressed,
       ROUND(SUM(CASE WHEN status = 'suppressed' THEN cells ELSE 0 END) / SUM(cells), 3) AS suppressed_share
  FROM footfall.cell_status
 WHERE event_date = DATE'2026-03-14'
 GROUP BY table_name, zone_set
 ORDER BY table_name, zone_set;
