"""The pipeline: the jobs' `run` functions (load-reference, ingest, compute, run, maintain) and the
core transforms of compute (visits, aggregates)."""
