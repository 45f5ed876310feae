"""spark-submit entry point: footfall run (load-reference, ingest, compute for one day)."""

import sys

from footfall.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
