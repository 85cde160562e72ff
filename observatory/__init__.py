"""Core of the ESS territorial observatory: settings, HTTP, errors, storage and CLI.

Importing this package has no side effect: settings are read when asked for,
the HTTP session is built on first use.
"""

__version__ = "0.1.0"
