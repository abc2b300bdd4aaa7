"""`python -m installer <step> ...` and the entry point of calico-installer.pyz."""

import sys

from installer.cli import main

if __name__ == "__main__":
    sys.exit(main())
