"""Launcher for ``python -m observatory``: the command line lives in the ``cli`` package."""
import sys

from cli.main import main

sys.exit(main())
