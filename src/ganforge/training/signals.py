"""SIGTERM and SIGINT while training (a scheduler's preemption, Ctrl-C).

The first signal only sets `received`; the loop checks it at the next step boundary, saves a
checkpoint and returns, and the CLI exits 0 with the line that resumes the run. A second signal
stops at once: the handler raises KeyboardInterrupt (SIGINT) or SystemExit(128 + SIGTERM), which
unwinds from wherever the loop is (exit status 130 or 143; a notebook's kernel survives it). A
save it interrupts cannot damage the last checkpoint: saves are atomic (a temporary folder renamed
into place, `latest` replaced last). Outside the main thread (where Python cannot install
handlers) nothing changes.
"""

from __future__ import annotations

import signal
import sys
import threading

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """`with StopSignals() as stop: ... if stop.received: save and return` (the handlers are the
    previous ones again after the block)."""

    def __init__(self):
        self.received: str | None = None  # "SIGTERM" / "SIGINT" once one arrived
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame) -> None:
        name = signal.Signals(signum).name
        if self.received is None:
            self.received = name
            sys.stderr.write(f"\n{name}: saving a checkpoint after this step, then stopping (again: stop at once)\n")
            sys.stderr.flush()
            return
        sys.stderr.write(f"\n{name} again: stopping at once; the last complete checkpoint is intact\n")
        sys.stderr.flush()
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}
