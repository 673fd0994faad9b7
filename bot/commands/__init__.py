"""One module per ``python -m bot`` command, each with ``register(subparsers)``."""
