"""Sub-command groups of ``python -m observatory`` (one module each, ``register(subparsers)``)."""
