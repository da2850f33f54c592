"""Recording when tokens were last used, off the request path.

Authenticating a request only reads. The uses worth keeping (at most one per token per
`TOKEN_USE_RESOLUTION`) are gathered here and written by one background thread in its own
short transaction, so a request never waits on a token row's lock, and a failed write (the
database busy or away) loses nothing but a timestamp that the next flush writes instead.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from hallmark.accounts.service import TokenHolder, record_token_uses
from hallmark.db import write_transaction

logger = logging.getLogger(__name__)


class TokenUseRecorder:
    """Collects token uses from requests and writes them in batches every `interval` seconds."""

    def __init__(self, factory: sessionmaker[Session], interval: float = 2.0) -> None:
        self.factory = factory
        self.interval = interval
        self._pending: dict[uuid.UUID, datetime] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def note(self, holder: TokenHolder) -> None:
        """Remember a use worth recording; cheap and never blocking on the database."""
        if not holder.use_is_news:
            return
        with self._lock:
            known = self._pending.get(holder.token_id)
            if known is None or known < holder.used_at:
                self._pending[holder.token_id] = holder.used_at

    def flush(self) -> int:
        """Write the uses gathered so far; on failure keep them for the next flush."""
        with self._lock:
            uses, self._pending = self._pending, {}
        if not uses:
            return 0
        try:
            with write_transaction(self.factory) as session:
                return record_token_uses(session, uses)
        except Exception:
            logger.warning("could not record %d token uses; retrying later", len(uses))
            with self._lock:
                for token_id, used_at in uses.items():
                    known = self._pending.get(token_id)
                    if known is None or known < used_at:
                        self._pending[token_id] = used_at
            return 0

    def start(self) -> None:
        """Start the background writer."""
        self._thread = threading.Thread(target=self._run, daemon=True, name="token-uses")
        self._thread.start()

    def stop(self) -> None:
        """Stop the writer after one last flush."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval + 5)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()
