"""Work run in the render process by tests of app/documents/isolation.py.

Its own small module, so that a child imports nothing heavy before it starts.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator


def counts_then_dies(signum: int, *, deadline: float) -> Iterator[int]:
    """One item, then death by `signum`."""
    yield 1
    os.kill(os.getpid(), signum)
    yield 2


def spins(*, deadline: float) -> Iterator[int]:
    """One item, then a loop that never checks its deadline."""
    yield 1
    while True:
        pass


def hoards(*, deadline: float) -> Iterator[int]:
    """Memory, 16 MB at a time, until there is no more."""
    hoard = []
    while True:
        hoard.append(bytearray(16 * 1024 * 1024))
        yield len(hoard)


def view(*, deadline: float) -> Iterator[object]:
    """The child's limits, the files it holds open, and its parent."""
    yield resource.getrlimit(resource.RLIMIT_AS)
    yield resource.getrlimit(resource.RLIMIT_CPU)
    open_files = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            open_files.append(os.readlink(f"/proc/self/fd/{fd}"))
        except FileNotFoundError:  # the listing's own descriptor, closed by now
            pass
    yield open_files
    yield os.getppid()


def answers_oddly(*, deadline: float) -> Iterator[object]:
    """An item that cannot be sent as JSON: the child fails while the parent waits."""
    yield {"fine": 1}
    yield {1, 2}
