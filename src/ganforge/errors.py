"""Errors meant for the user: the CLI prints their message on one line and exits with code 2
(`ganforge --verbose` adds the detail and the traceback); any other exception is a bug in
ganforge and exits with code 1 and its traceback."""

from __future__ import annotations

import errno


class UserError(Exception):
    """Something the user gave us is wrong (path, option, file, shape). The message says what
    was wrong and how to fix it, in one line; `detail` is what `--verbose` shows below it (each of
    several damaged files tried, say)."""

    def __init__(self, message: str, detail: str | None = None):
        super().__init__(message)
        self.detail = detail


class TrainingStopped(UserError):
    """Training stopped on purpose before train.steps (train.nan_policy=stop, a storage fault); the
    message names the checkpoint it can resume from."""


# what to do about an OSError the machine, not ganforge, is behind
_ADVICE = {
    errno.ENOSPC: "free disk space",
    errno.EDQUOT: "free space within your disk quota",
    errno.EFBIG: "the file-size limit (ulimit -f) is too low; raise it",
    errno.EROFS: "the file system is read-only; choose a writable place",
    errno.EACCES: "no permission; fix the permissions or choose another place",
    errno.EPERM: "no permission; fix the permissions or choose another place",
    errno.ENOENT: "a folder on the way is missing; check the path",
    errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
    errno.EISDIR: "it is a folder; give a file name",
    errno.EIO: "an input/output error: the disk may be failing; check it",
}


def storage_error(e: OSError, doing: str, then: str = "", cls: type[UserError] = UserError) -> UserError | None:
    """A one-line `cls` for an OSError the machine is behind (disk full, read-only, no permission,
    missing folder): "cannot {doing}: {why} ({file}); {advice}{then}"; None for others (bugs)."""
    advice = _ADVICE.get(e.errno)
    if advice is None:
        return None
    where = f" ({e.filename})" if e.filename else ""
    return cls(f"cannot {doing}: {e.strerror or e}{where}; {advice}{then}")
