"""One-line, timestamped progress logs on stderr, prefixed by the service name."""
from __future__ import annotations

import logging
import sys


def setup_logging(name: str) -> logging.Logger:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"%(asctime)s {name} %(levelname)s %(message)s",
                                           "%H:%M:%S"))
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


class RejectCounter:
    """Counts dropped bad messages; logs the first ten, then every thousandth, so a
    flood of garbage cannot flood the log (one helper for every service)."""

    def __init__(self, log: logging.Logger, what: str = "dropped bad message"):
        self.log, self.what, self.count = log, what, 0

    def __call__(self, reason: object) -> None:
        self.count += 1
        if self.count <= 10 or self.count % 1000 == 0:
            self.log.warning("%s (%d so far): %s", self.what, self.count, reason)
