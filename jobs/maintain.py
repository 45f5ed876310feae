"""spark-submit entry point: footfall maintain (retention: delete, compact, vacuum)."""

import sys

from footfall.cli import main

if __name__ == "__main__":
    sys.exit(main(["maintain", *sys.argv[1:]]))
