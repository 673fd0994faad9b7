"""One module per ``python -m bot`` command, each with ``register(subparsers)``."""

import argparse
from typing import TypeAlias

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``ArgumentParser.add_subparsers`` returns, which each command adds its parser to."""
