"""A stand-in for a server worker, for the supervisor's tests (spawned processes import it,
so it imports next to nothing)."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path
from typing import Any

READY = b"ready"  # as api.dispatch.READY (a test checks they agree)


def come_up_once(options: dict[str, Any], channel: socket.socket) -> None:
    """Come up once and die; every later start dies before it is ready. Each start adds
    a line to the file ``options["starts"]``."""
    starts = Path(options["starts"])
    with starts.open("a", encoding="utf-8") as record:
        record.write("start\n")
    if len(starts.read_text(encoding="utf-8").splitlines()) > 1:
        sys.exit(2)
    channel.send(READY)
    time.sleep(0.5)
    sys.exit(3)
