"""Parsing an upload in a child process with a memory and a time limit.

The container checks of ``core.uploads`` bound what a parser is given; this bounds what the
parse may cost whatever slips past them (a parser's own blow-up, a zip member lying about its
size). ``run_limited(work, *args, seconds=…, memory=…)`` forks; the child lowers its address
space (``RLIMIT_AS``: what it has now plus ``memory``) and its CPU time, runs ``work`` and
hands the return value (or the exception) back through a temporary file; the parent waits at
most ``seconds`` of wall-clock time and kills the child after that. A child that ran out of
memory, was killed or crashed (a Rust parser aborts when an allocation fails) raises
``LimitExceeded`` in the parent, which the caller words for its page.

It works the same in a Celery worker and in a web request (eager Celery in development runs
jobs in the request): the web or worker process never holds the parse's memory, and a
runaway parse never outlives its limit. The child never touches the database (the parent's
connections are inherited but left alone) and leaves through ``os._exit``. Where ``fork`` is
missing (not Linux or macOS) the work runs in process, limited only by the callers' checks.

``last_run`` keeps the wall-clock seconds and the child's peak resident memory (bytes,
including what it shares with the parent) of the latest run, for tests and measurements.
"""

import os
import pickle
import resource
import select
import signal
import tempfile
import time
from dataclasses import dataclass

MB = 1024 * 1024


class LimitExceeded(Exception):
    """The parse ran out of time (TIME) or memory, or died (MEMORY covers both: a parser that
    fails to allocate aborts as often as it raises)."""

    TIME, MEMORY = "time", "memory"

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Usage:
    seconds: float = 0.0
    peak_bytes: int = 0


last_run = Usage()


def _address_space() -> int:
    """The process's current virtual size in bytes (Linux), 0 when unknown."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _limit(kind: int, soft: int):
    _old_soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(kind, (soft, hard))


def _child(work, args, seconds: float, memory: int, out, done_fd: int):
    """In the forked child: limit, work, report, leave. Never returns."""
    code = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        here = _address_space()
        if here:
            _limit(resource.RLIMIT_AS, here + memory)
        _limit(resource.RLIMIT_CPU, int(seconds) + 2)
        try:
            outcome = ("ok", work(*args))
        except MemoryError:
            outcome = ("limit", LimitExceeded.MEMORY)
        except BaseException as exc:  # handed to the parent to raise there
            outcome = ("raise", exc)
        try:
            pickle.dump(outcome, out, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # an exception that does not pickle: say what it was
            out.seek(0)
            out.truncate()
            pickle.dump(("raise", RuntimeError(repr(outcome[1]))), out)
        out.flush()
    except MemoryError:
        code = 3
    except BaseException:
        code = 4
    finally:
        os._exit(code)


def run_limited(work, *args, seconds: float, memory: int):
    """``work(*args)`` in a forked child limited to ``seconds`` of wall-clock (and CPU) time
    and ``memory`` bytes of address space beyond the parent's; its return value, or the
    exception it raised, raised again here. ``LimitExceeded`` when a limit was hit."""
    started = time.monotonic()
    if not hasattr(os, "fork"):
        return work(*args)
    with tempfile.TemporaryFile() as out:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            os.close(read_fd)
            _child(work, args, seconds, memory, out, write_fd)
        os.close(write_fd)
        ended = 0
        try:
            # The pipe's write end closes when the child ends, however it ends.
            ready, _, _ = select.select([read_fd], [], [], max(seconds, 0.1))
        finally:
            os.close(read_fd)
        if not ready:  # (or another child forked meanwhile holds the pipe: look first)
            ended, status, usage = os.wait4(pid, os.WNOHANG)
            ready = bool(ended)
            if not ready:
                os.kill(pid, signal.SIGKILL)
        if not ready or not ended:
            _pid, status, usage = os.wait4(pid, 0)
        last_run.seconds = time.monotonic() - started
        last_run.peak_bytes = usage.ru_maxrss * 1024
        if not ready:
            raise LimitExceeded(LimitExceeded.TIME)
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL):
            raise LimitExceeded(LimitExceeded.TIME)
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            raise LimitExceeded(LimitExceeded.MEMORY)
        out.seek(0)
        try:
            kind, value = pickle.load(out)
        except Exception as exc:  # nothing written: the child died before its report
            raise LimitExceeded(LimitExceeded.MEMORY) from exc
    if kind == "ok":
        return value
    if kind == "limit":
        raise LimitExceeded(value)
    raise value
