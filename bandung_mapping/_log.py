"""Package logging: a NullHandler on the package logger, nothing printed by default."""

from __future__ import annotations

import logging
import sys

PACKAGE_LOGGER = "bandung_mapping"
logging.getLogger(PACKAGE_LOGGER).addHandler(logging.NullHandler())


def get_logger(name: str) -> logging.Logger:
    """Return the logger for module ``name`` (use ``__name__``)."""
    return logging.getLogger(name)


def enable_console_logging(level: int = logging.INFO) -> None:
    """Send package log records to standard error (used by the CLI)."""
    logger = logging.getLogger(PACKAGE_LOGGER)
    if not any(getattr(h, "_bm_console", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._bm_console = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level)


def progress_enabled() -> bool:
    """Whether progress bars should be shown (only on an interactive terminal)."""
    from . import settings

    if settings.progress is not None:
        return bool(settings.progress)
    return sys.stderr.isatty()
