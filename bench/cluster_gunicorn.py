"""gunicorn settings of bench/cluster.py's nodes: a worker dies with its master, so a node
killed with SIGKILL (or a benchmark that is) leaves no worker behind."""

from __future__ import annotations

import ctypes
import signal
from typing import Any

PR_SET_PDEATHSIG = 1


def post_fork(server: Any, worker: Any) -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
