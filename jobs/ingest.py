"""spark-submit entry point: footfall ingest."""

import sys

from footfall.cli import main

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))
