"""Running untrusted work in a child process held to a time and memory limit.

Custom templates are rendered here: Jinja's sandbox checks its time budget between
operations, but one operation (a huge power, the text of a huge list) can run for
minutes or take gigabytes before the next check. The child is limited before it runs
the work (RLIMIT_AS for memory, RLIMIT_CPU a little over the budget, no core file),
and the parent kills it once the wall-clock budget is over, so the caller gets an
answer in about the budget whatever the work does.

Children come from multiprocessing's forkserver: a small, single-threaded process
started once per web worker (about 0.3 s, on the first render) that has imported the
work's modules; each render then forks a fresh child from it (about 6-15 ms a render,
against 2 ms for the same sections in-process). Nothing of the web worker is
inherited, not its threads, locks or database connections, and a child that ran out
of memory or time takes nothing with it.

A forkserver child re-runs the parent's main script (guarded by `if __name__ ==
"__main__"`, as the console scripts are) before its work; preloading `app.cli`, what the
`hindsight` script imports, makes that cheap for `hindsight serve`.
"""

from __future__ import annotations

import enum
import functools
import json
import logging
import math
import multiprocessing
import multiprocessing.forkserver
import os
import resource
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger(__name__)

# Modules the forkserver imports once, so that a child starts without importing anything
# (app.cli: what the `hindsight` console script, the main module under `hindsight serve`, imports).
PRELOAD = ["app.documents.templating", "app.cli"]
# Past the budget, how long the parent waits for the child's own (friendlier) refusal.
GRACE_SECONDS = 0.25
# The child sends JSON, never pickles: even a child taken over by a sandbox escape can only
# hand the web worker plain data, of a bounded size.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
_EXIT_MEMORY = 3


@dataclass(frozen=True)
class Limits:
    """What one isolated run may use: wall and CPU seconds, and megabytes of address space."""

    seconds: float = 2.0
    memory_mb: int = 512


class Stop(enum.Enum):
    """Why an isolated run ended."""

    FINISHED = "finished"
    TIME = "time"  # over its budget: killed by the parent, or by RLIMIT_CPU
    MEMORY = "memory"  # MemoryError under RLIMIT_AS, or killed by the kernel's OOM killer
    CRASHED = "crashed"  # the child ended without saying why


@dataclass
class Outcome:
    """The items the work produced before it ended, and why it ended."""

    items: list[Any] = field(default_factory=list)
    stop: Stop = Stop.FINISHED
    exitcode: int | None = None


@functools.cache
def _context() -> multiprocessing.context.ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    os.register_at_fork(after_in_child=_forget_forkserver)
    return context


def _forget_forkserver() -> None:
    """In a process forked after the forkserver started (a gunicorn worker forked by a master whose
    scheduler rendered), start a forkserver of its own: multiprocessing would try to wait for the
    parent's one, which is not its child, and fail every render.
    """
    server = getattr(multiprocessing.forkserver, "_forkserver", None)
    if server is None or getattr(server, "_forkserver_pid", None) is None:
        return
    os.close(server._forkserver_alive_fd)  # the parent keeps its own copy: its forkserver lives on
    server._forkserver_address = server._forkserver_alive_fd = server._forkserver_pid = None
    server._lock = threading.Lock()  # it may have been held by another thread at the fork


def _child(writer: Connection, limits: Limits, work: Callable[..., Iterable[Any]], args: tuple[Any, ...],
           deadline: float) -> None:
    """Runs in the child: limit this process, then send each item of `work(*args, deadline=...)` as it comes."""
    memory = limits.memory_mb * 1024 * 1024
    cpu = math.ceil(limits.seconds) + 1
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    try:
        for item in work(*args, deadline=deadline):
            writer.send_bytes(json.dumps(["item", item], ensure_ascii=False).encode())
        writer.send_bytes(b'["done", null]')
    except MemoryError:
        # Leave at once, whatever state the allocator is in; the parent reads the exit code.
        os._exit(_EXIT_MEMORY)


def run_limited(work: Callable[..., Iterable[Any]], args: tuple[Any, ...], *, limits: Limits) -> Outcome:
    """Run `work(*args, deadline=...)` in a limited child and collect what it yields.

    `work` is a generator function importable by name that yields JSON-able items; `args`
    are picklable; `deadline` (time.monotonic(), the same clock in every process) is when
    its budget ends, a little before the parent kills it. Returns the items it yielded
    before it finished, was stopped or died, and why it ended. What the work does never
    raises here, and the child is gone on return.
    """
    context = _context()
    reader, writer = context.Pipe(duplex=False)
    outcome = Outcome()
    try:
        # Started here (once per process), so that starting the forkserver is not charged to the work's budget.
        multiprocessing.forkserver.ensure_running()
        deadline = time.monotonic() + limits.seconds
        process = context.Process(target=_child, args=(writer, limits, work, args, deadline), daemon=True,
                                  name="hindsight-render")
        process.start()
    except Exception:  # noqa: BLE001 - no child to render in: the work is not run, the caller shows why
        log.exception("could not start a render process")
        reader.close()
        writer.close()
        return Outcome(stop=Stop.CRASHED)
    writer.close()  # the child holds its own end: EOF here means it is gone
    stop: Stop | None = None
    try:
        while stop is None:
            remaining = deadline + GRACE_SECONDS - time.monotonic()
            if remaining <= 0 or not reader.poll(remaining):
                stop = Stop.TIME
                break
            try:
                kind, value = json.loads(reader.recv_bytes(MAX_MESSAGE_BYTES))
            except EOFError:  # gone without a last word: its exit code says why
                break
            except (OSError, ValueError, TypeError):  # not what our child sends: treat it as broken
                log.warning("a render process sent a message that is not ours")
                stop = Stop.CRASHED
                break
            if kind == "item":
                outcome.items.append(value)
            else:
                stop = Stop.FINISHED
    finally:
        if stop is not Stop.FINISHED:
            # Over time or broken: kill it now. Gone without a word (or the parent failed): a moment to exit first.
            process.join(0 if stop in (Stop.TIME, Stop.CRASHED) else 1)
            if process.exitcode is None:
                process.kill()
        process.join()
        reader.close()
    outcome.exitcode = process.exitcode
    process.close()
    outcome.stop = stop or _stop_from_exit(outcome.exitcode)
    return outcome


def _stop_from_exit(exitcode: int | None) -> Stop:
    if exitcode == -signal.SIGXCPU:
        return Stop.TIME
    # A SIGKILL the parent did not send comes from the kernel's OOM killer.
    if exitcode in (_EXIT_MEMORY, -signal.SIGKILL):
        return Stop.MEMORY
    return Stop.CRASHED
