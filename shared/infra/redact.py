"""Credentials out of everything recorded or logged: the userinfo of URLs.

`http://user:pass@host/` is recorded as `http://***@host/`. The runner applies it to every
action result it records and every URL it logs, and to its HTTP client's log records.
"""

from __future__ import annotations

import logging
import re

MASK = "***"
# scheme "://" then the authority up to its last "@" (the authority ends at / ? # or a space).
_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#\s]*@")


def mask_credentials(text: str) -> str:
    """`text` with the userinfo of every URL in it replaced by `***`."""
    return _USERINFO.sub(rf"\g<1>{MASK}@", text) if "@" in text else text


class MaskCredentials(logging.Filter):
    """Rewrites a record's message with credentials masked (attach it to a logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_credentials(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


MASK_CREDENTIALS = MaskCredentials()


def mask_library_logs(*loggers: str) -> None:
    """Mask credentials in what these stdlib loggers emit (idempotent)."""
    for name in loggers:
        logging.getLogger(name).addFilter(MASK_CREDENTIALS)
