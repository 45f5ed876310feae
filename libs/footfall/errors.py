"""Typed errors users can cause, each with the exit code `main` returns for it.

Messages say what is wrong and what to do. They never contain a raw identifier or a secret.
The codes are documented in docs/operations.md; keep both in step.
"""

from __future__ import annotations


class FootfallError(Exception):
    """Base class: an error with a documented exit code."""

    exit_code = 70  # internal error (EX_SOFTWARE)


class BadInputError(FootfallError):
    """Input data is missing, empty, corrupt or in the wrong shape."""

    exit_code = 65  # EX_DATAERR


class ConfigError(FootfallError):
    """The configuration is invalid (unknown key, bad value, k below the floor)."""

    exit_code = 78  # EX_CONFIG


class MissingKeyError(FootfallError):
    """No pseudonymisation key is available."""

    exit_code = 77  # EX_NOPERM


class SetupError(FootfallError):
    """The environment is incomplete (jars missing, Java missing)."""

    exit_code = 69  # EX_UNAVAILABLE


class PublishedDayError(FootfallError):
    """A published day would be overwritten without the explicit republish flag."""

    exit_code = 73  # EX_CANTCREAT


class ReleaseRefusedError(FootfallError):
    """A release the privacy rules forbid: beyond the dp budget, or a day's second privacy mode."""

    exit_code = 77  # EX_NOPERM: not permitted (as a missing key)


EXIT_OK = 0
