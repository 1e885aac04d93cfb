"""What a request handler is given besides its body: progress reports and the cancel flag.

Kept apart from ``server.py`` so that handlers (and ``contract.py``, which lists them) import no
ZeroMQ.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import Cancelled


@dataclass
class RequestContext:
    """What a handler may do besides returning: report progress and notice cancellation."""

    request_id: str
    send: Callable[[str, dict[str, Any]], None]
    cancelled: threading.Event = field(default_factory=threading.Event)

    def progress(self, **fields: Any) -> None:
        self.send("progress", fields)

    def check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise Cancelled()


Handler = Callable[[Any, RequestContext], Any]
"""A request handler: (request body, context) -> reply body (see ``messages.py`` and ``messages_tools.py``)."""
