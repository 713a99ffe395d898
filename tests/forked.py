"""Forked children for tests that kill or coordinate processes cheaply: a child forked from the test
process starts in milliseconds with torch (and whatever else the test imported) already loaded,
where a new interpreter pays seconds of start-up. A child never returns into pytest.

    pid = fork(fn)                  fn() in a child; exit code 0 when it returns, 1 when it raises
    wait_exit(pid)                  its exit code
    wait_for(pid, condition)        poll until condition() (the child must still be running)
    stop_and_kill(pid, shared)      SIGSTOP, read where it was, SIGKILL
    Shared()                        int64 slots in an anonymous shared mapping, written by children
    reap_children()                 kill what is left (a test's teardown)
"""

import mmap
import os
import signal
import struct
import time
import traceback

PHASE, STEP, STAGE = 0, 1, 2  # the slots stop_and_kill reads


class Shared:
    """int64 slots in an anonymous shared mapping: written by a forked child, read by the parent."""

    def __init__(self, slots: int = 8):
        self.mem = mmap.mmap(-1, 8 * slots)

    def __getitem__(self, i: int) -> int:
        return struct.unpack_from("q", self.mem, 8 * i)[0]

    def __setitem__(self, i: int, value: int) -> None:
        struct.pack_into("q", self.mem, 8 * i, value)

    def reset(self) -> None:
        self.mem[:] = bytes(len(self.mem))


_children: list[int] = []


def reap_children() -> None:
    """Kill and reap every child `fork` started that is still there (for a test's teardown: a failing
    test leaves nothing running, or stopped, behind)."""
    while _children:
        pid = _children.pop()
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def fork(fn) -> int:
    """Run fn() in a forked child that never returns into pytest; its exit code is 0 on success."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    _children.append(pid)
    return pid


def stop_and_kill(pid: int, shared: Shared) -> tuple[int, int] | None:
    """SIGSTOP the child, read where it is (phase, stage), SIGKILL it; None if it had already exited."""
    os.kill(pid, signal.SIGSTOP)
    _, status = os.waitpid(pid, os.WUNTRACED)
    if not os.WIFSTOPPED(status):
        return None
    where = shared[PHASE], shared[STAGE]
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return where


def wait_exit(pid: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError("child did not finish")


def wait_for(pid: int, condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        done, status = os.waitpid(pid, os.WNOHANG)
        assert not done, f"child exited ({os.waitstatus_to_exitcode(status)}) before the moment chosen to kill it"
        assert time.monotonic() < deadline, "child never reached the moment chosen to kill it"
        time.sleep(0.0002)
