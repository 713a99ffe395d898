"""RUN/.lock: one `ganforge train` at a time writes to a run directory.

The lock is an advisory `flock` on RUN/.lock; the file names its holder ("pid 4242 on host h since
...") for the message a second run prints. The kernel drops a flock when its process ends, however
it ends (SIGKILL included), so a lock file left behind by a dead process is stale by construction:
the next run takes it over and says so. Where the file system cannot lock (some network file
systems), training goes on with a warning.
"""

from __future__ import annotations

import errno
import os
import socket
import time
import warnings
from pathlib import Path

from ganforge.errors import UserError

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are not locked there
    fcntl = None

LOCK_NAME = ".lock"
_UNSUPPORTED = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS)


def _owner(fd: int) -> str:
    return os.pread(fd, 512, 0).decode(errors="replace").strip()


def in_use(run_dir: Path, owner: str) -> UserError:
    """The one message for a run directory another process is training in."""
    return UserError(
        f"{run_dir} is in use by another ganforge train ({owner or 'holder unknown'}); wait for it to "
        "finish or stop it (Ctrl-C saves and exits), or choose another --out"
    )


def lock_holder(run_dir: Path) -> str | None:
    """Who holds the lock on `run_dir` ("pid ... on host ..."), or None when nobody does."""
    path = Path(run_dir) / LOCK_NAME
    if fcntl is None or not path.is_file():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _owner(fd) or "holder unknown"
    except OSError as e:
        if e.errno in _UNSUPPORTED:
            return None
        raise
    finally:
        os.close(fd)  # closing drops the probe's own lock
    return None


class RunLock:
    """`RunLock(run_dir).acquire()` ... `.release()` (or `with RunLock(run_dir):`). acquire raises a
    one-line UserError naming the holder when another process holds the lock."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self.fd: int | None = None

    def acquire(self) -> RunLock:
        if fcntl is None or self.fd is not None:
            return self
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _owner(fd)
                os.close(fd)
                raise in_use(self.run_dir, owner) from None
            except OSError as e:
                os.close(fd)
                if e.errno not in _UNSUPPORTED:
                    raise
                warnings.warn(
                    f"{self.path}: this file system cannot lock ({e.strerror}); make sure no other "
                    "ganforge train writes to this run directory",
                    stacklevel=2,
                )
                return self
            try:  # the holder may have removed the file between our open and our flock: lock the new one
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        previous = _owner(fd)
        if previous:  # its holder ended without removing it (killed, crashed): stale
            warnings.warn(f"{self.path}: taking over a stale lock ({previous}, no longer running)", stacklevel=2)
        me = f"pid {os.getpid()} on host {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
        os.ftruncate(fd, 0)
        os.pwrite(fd, me.encode(), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        self.path.unlink(missing_ok=True)  # while still holding it: a waiter that opened it sees a new inode
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
