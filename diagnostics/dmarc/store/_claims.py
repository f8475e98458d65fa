"""Who is importing a report right now, and whether they still are: the claim an import writes on a
report it stores in several transactions (_ingest.py), so that a report left half-written by a crash
can be told from one another import is still writing.

A claim is `import_owner` (this machine, process and one import's token) and `import_lease` (Unix
seconds), renewed with every chunk. It is abandoned when its lease has run out, or at once when the
process that wrote it is known to be gone: on this machine, a process id that no longer runs, or,
in this process, an import that has ended. A claim from another machine is trusted until its lease
runs out: nothing here can see that machine's processes.

Pure but for `this_machine` and `_running`, which look at the operating system.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# How long a claim holds without being renewed. An import renews it with every chunk, seconds
# apart, so this only bounds how long a crash on another machine hides a report from re-import.
LEASE_SECONDS = 600

_SEPARATOR = "|"


def this_machine() -> str:
    """The host name, and on Linux the boot id, so that a machine restarted (its process ids
    reused) does not pass for the one that wrote a claim before."""
    name = socket.gethostname()
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return name
    return f"{name}/{boot}"


@dataclass(frozen=True, slots=True)
class Owner:
    """One import: the machine and process it runs in, and a token of its own."""

    machine: str
    pid: int
    token: str

    def __str__(self) -> str:
        return _SEPARATOR.join((self.machine, str(self.pid), self.token))

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        """The owner written as `str(owner)`, or None for anything else."""
        machine, _, rest = text.rpartition(_SEPARATOR)
        machine, _, pid = machine.rpartition(_SEPARATOR)
        if not machine or not pid.isdigit():
            return None
        return cls(machine, int(pid), rest)


# The tokens of the imports running in this process now.
_live: set[str] = set()
_live_lock = threading.Lock()


@contextmanager
def claiming() -> Iterator[Owner]:
    """A new owner for one import, known to be alive until the block ends."""
    owner = Owner(this_machine(), os.getpid(), secrets.token_hex(8))
    with _live_lock:
        _live.add(owner.token)
    try:
        yield owner
    finally:
        with _live_lock:
            _live.discard(owner.token)


def abandoned(
    owner: str | None, lease: int | None, now: int, *, machine: str | None = None
) -> bool:
    """True when the import that wrote the claim (`owner`, `lease`) is over without having
    finished: its lease ran out, or its process is known to be gone (module docstring)."""
    if owner is None:
        return False  # not a claim: a complete report
    if lease is None or lease < now:
        return True
    found = Owner.parse(owner)
    if found is None or found.machine != (machine or this_machine()):
        return False
    if found.pid == os.getpid():
        with _live_lock:
            return found.token not in _live
    return not _running(found.pid)


def _running(pid: int) -> bool:
    if os.name != "posix":
        return True  # no safe way to ask here (os.kill would end it): the lease decides
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user's process
    return True
