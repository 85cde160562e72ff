"""Exceptions of the observatory.

Every class subclasses a builtin so that callers can catch the usual kind
(``ValueError``, ``KeyError``...).  Every message says *what* went wrong, *why*
and *how to fix it*: build messages with :func:`explain`.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "CRSMismatchError",
    "ConfigurationError",
    "DataValidationError",
    "DownloadError",
    "GeocodingError",
    "NetworkError",
    "OfflineError",
    "ReferenceNotBuiltError",
    "SnapshotError",
    "SourceNotFoundError",
    "explain",
]


def explain(what: str, why: str, fix: str, offenders: Iterable[object] | None = None,
            limit: int = 20) -> str:
    """Build a three-part error message, optionally listing offenders.

    >>> explain("Bad code '123'.", "A commune code has 5 characters.", "Pad it: '00123'.")
    "Bad code '123'. A commune code has 5 characters. How to fix: Pad it: '00123'."
    """
    message = f"{what.rstrip()} {why.rstrip()} How to fix: {fix.rstrip()}"
    if offenders is not None:
        items = list(offenders)
        shown = ", ".join(repr(o) for o in items[:limit])
        more = f" (and {len(items) - limit} more)" if len(items) > limit else ""
        message += f" Offenders ({len(items)}): {shown}{more}."
    return message


class ConfigurationError(ValueError):
    """A setting or an option has an invalid value."""


class SourceNotFoundError(KeyError):
    """A source name or vintage is not in the catalog."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class NetworkError(ConnectionError):
    """A request failed after its retries.

    Optional keyword attributes describe the failed request: ``url``, ``status``
    (HTTP status or ``None`` for a connection failure) and ``attempts``.
    """

    def __init__(self, *args: object, url: str | None = None, status: int | None = None,
                 attempts: int | None = None) -> None:
        super().__init__(*args)
        self.url = url
        self.status = status
        self.attempts = attempts


class OfflineError(NetworkError):
    """Offline mode is on and the request is not in the on-disk cache."""


class DownloadError(NetworkError):
    """A file download failed or its checksum/size did not match."""


class DataValidationError(ValueError):
    """Input data breaks a rule; ``offenders`` lists what broke it."""

    def __init__(self, message: str, offenders: Iterable[object] | None = None) -> None:
        super().__init__(message)
        self.offenders = list(offenders) if offenders is not None else []


class CRSMismatchError(DataValidationError):
    """Two layers meant to be joined do not share a CRS."""


class GeocodingError(RuntimeError):
    """The geocoder answered something unusable."""


class SnapshotError(RuntimeError):
    """A snapshot is missing, incomplete, or would be overwritten or damaged."""


class ReferenceNotBuiltError(FileNotFoundError):
    """The reference geography cache has not been built yet."""
