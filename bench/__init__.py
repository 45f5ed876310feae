"""footfall benchmark harness: `make bench SIZE=XS|S|M|L` (docs/benchmarks.md)."""
