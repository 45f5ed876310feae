"""spark-submit entry point: footfall compute --date D [--zone-set S]."""

import sys

from footfall.cli import main

if __name__ == "__main__":
    sys.exit(main(["compute", *sys.argv[1:]]))
