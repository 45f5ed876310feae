"""The analyst side: a catalog that exposes only the published tables and ref.zones, reachable
through `footfall sql` (spark-sql), `footfall thrift` (JDBC/ODBC) and `footfall duckdb`, and the
offline HTML report of one published day (`footfall report`)."""
