"""spark-submit entry point: footfall generate (a synthetic operator landing folder for Berlin)."""

import sys

from footfall.cli import main

if __name__ == "__main__":
    sys.exit(main(["generate", *sys.argv[1:]]))
