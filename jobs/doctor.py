"""spark-submit entry point: footfall doctor."""

import sys

from footfall.cli import main

if __name__ == "__main__":
    sys.exit(main(["doctor", *sys.argv[1:]]))
