"""spark-submit entry point: footfall load-reference."""

import sys

from footfall.cli import main

if __name__ == "__main__":
    sys.exit(main(["load-reference", *sys.argv[1:]]))
