"""The plugin's loggers. Every record passes the redaction filter. Nothing here sets a level, adds a handler or
turns off propagation: the application's logging configuration decides what is shown and where. Only when nothing
configured logging at all do progress lines (INFO) still reach the terminal, as warnings do through logging's
last resort."""

from __future__ import annotations

import logging
import sys
from typing import Any

from .redact import FILTER, redact_text


class PluginLogger(logging.LoggerAdapter):
    def info(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        if self.logger.isEnabledFor(logging.INFO):
            kwargs.setdefault("stacklevel", 2)
            self.logger.info(msg, *args, **kwargs)
        elif not self.logger.hasHandlers():
            text = str(msg) % args if args else str(msg)
            sys.stderr.write(redact_text(text) + "\n")


def get_logger(name: str) -> PluginLogger:
    logger = logging.getLogger(name)
    if FILTER not in logger.filters:
        logger.addFilter(FILTER)
    return PluginLogger(logger, {})


def watch_sdk_logger(name: str) -> None:
    """Redact the records of a library logger the plugin drives (the SDK logs whole requests at DEBUG)."""
    logger = logging.getLogger(name)
    if FILTER not in logger.filters:
        logger.addFilter(FILTER)
