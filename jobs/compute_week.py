"""spark-submit entry point: footfall compute-week --week YYYY-Www [--zone-set S]."""

import sys

from footfall.cli import main

if __name__ == "__main__":
    sys.exit(main(["compute-week", *sys.argv[1:]]))
