"""Gunicorn's settings for Propel, used by every start command (`gunicorn -c gunicorn.conf.py
propel.wsgi ...`): its access and error logs mask token-shaped text (propel.log_masking), so a
patient's link, a booking hold or a calendar feed address never reaches a log file whole.
Bind address, workers and log destinations stay on the command line."""

from __future__ import annotations

import os
import sys
from typing import Any

from gunicorn.glogging import Logger

# Gunicorn reads this file before it imports the app; the project root may not be on the path yet.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from propel.log_masking import TokenMaskFilter


class MaskingLogger(Logger):
    """Gunicorn's logger with TokenMaskFilter on each of its handlers (set up again on reload)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not any(isinstance(f, TokenMaskFilter) for f in handler.filters):
                    handler.addFilter(TokenMaskFilter())


logger_class = MaskingLogger
