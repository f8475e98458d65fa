"""A real Dovecot IMAP server on loopback for the intake tests: Debian's `dovecot-imapd`, run in the
foreground (`dovecot -F`) with a configuration written to a temporary folder.

    server = Dovecot(ca)            # a trustme CA signs its certificate
    server.start()
    user, password = server.add_user()
    server.append(user, [raw_message, ...])
    server.kill(); server.start()    # the server going away, and coming back on the same ports

It listens on 127.0.0.1 with implicit TLS (`port`) and with STARTTLS (`starttls_port`). Dovecot
cannot listen on port 0, so free ports are picked by binding port 0 and letting go, and a start
that finds one taken after all picks again. Each user has a passwd-file of
its own (Dovecot re-reads a changed file at most once a second, too late for a user just added),
their mail in maildirs under the temporary folder. Dovecot refuses to give mail to uid 0, so when
the tests run as root the mail is owned by `nobody` (the folder is made outside pytest's private
tmp, which nobody could enter).

`hold(user, folder)` takes the folder's maildir lock (dovecot-uidlist.lock) as another Dovecot
process would: a MOVE into that folder then waits until it is let go. That is how a test stops a
client exactly between storing reports and archiving the message.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import trustme
from imapclient import IMAPClient

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
_NOBODY = 65534


def dovecot_problem() -> str | None:
    """None when Dovecot is installed, else why the IMAP tests cannot run."""
    if not os.path.exists(DOVECOT):
        return "Dovecot is not installed (make test installs Debian's dovecot-imapd)"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Dovecot:
    def __init__(self, ca: trustme.CA) -> None:
        self.ca = ca
        self.root = Path(tempfile.mkdtemp(prefix="desk-dovecot-"))
        self.root.chmod(0o755)
        self.ca_file = self.root / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(
            str(self.root / "server.pem")
        )
        self.mail = self.root / "mail"
        self.mail.mkdir()
        self.uid = _NOBODY if os.geteuid() == 0 else os.getuid()
        self.gid = _NOBODY if os.geteuid() == 0 else os.getgid()
        os.chown(self.mail, self.uid, self.gid)
        # One passwd-file per user (the path holds %u): Dovecot re-reads a changed file at most
        # once a second, so a user added to a shared file could not log in at once.
        self.users = self.root / "users"
        self.users.mkdir()
        self.port = 0
        self.starttls_port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._users: dict[str, str] = {}

    # ---- the server ----------------------------------------------------------------------------

    def start(self, *, same_ports: bool = True) -> Dovecot:
        """Start Dovecot; on its earlier ports when it ran before (if they are still free)."""
        for attempt in range(5):
            if not (same_ports and self.port) or attempt:
                self.port, self.starttls_port = free_port(), free_port()
            self._write_config()
            for stale in ("run/master.pid",):
                (self.root / stale).unlink(missing_ok=True)
            self.process = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() takes every child along
            )
            if self._wait_listening():
                return self
            self.kill()
        raise RuntimeError(f"Dovecot did not start; its log:\n{self.log()[-3000:]}")

    def _wait_listening(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False  # a port taken meanwhile, most likely: start picks others
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    pass
                with socket.create_connection(("127.0.0.1", self.starttls_port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.02)
        return False

    def kill(self) -> None:
        """The server goes away at once, every process of it (SIGKILL to its process group)."""
        if self.process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        self.kill()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _write_config(self) -> None:
        root = self.root
        for folder in ("run", "state"):
            (root / folder).mkdir(exist_ok=True)
        unprivileged = ""
        if os.geteuid() != 0:
            me = pwd.getpwuid(os.getuid()).pw_name
            unprivileged = (
                f"default_internal_user = {me}\ndefault_login_user = {me}\n"
                "service imap-login {\n  chroot =\n}\n"
            )
        (root / "dovecot.conf").write_text(
            f"""
base_dir = {root}/run
state_dir = {root}/state
instance_name = desk-test-{root.name}
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{root}/server.pem
ssl_key = <{root}/server.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain
auth_failure_delay = 0
auth_verbose = yes
first_valid_uid = 1
mail_location = maildir:{self.mail}/%u
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.users}/%u
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={self.mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.starttls_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.port}
    ssl = yes
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
{unprivileged}"""
        )

    # ---- users and their mail ------------------------------------------------------------------

    def add_user(self) -> tuple[str, str]:
        """A new user with an empty mailbox: (name, password)."""
        name = f"u{uuid.uuid4().hex[:10]}"
        password = f"pw-{uuid.uuid4().hex}"
        self._users[name] = password
        (self.users / name).write_text(f"{name}:{{PLAIN}}{password}\n")
        return name, password

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        return context

    @contextmanager
    def client(self, user: str) -> Iterator[IMAPClient]:
        client = IMAPClient("127.0.0.1", self.port, ssl=True, ssl_context=self.tls_context())
        client.login(user, self._users[user])
        try:
            yield client
        finally:
            client.logout()

    def append(self, user: str, messages: Iterable[bytes], folder: str = "INBOX") -> None:
        with self.client(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            batch: list[bytes] = []
            for message in messages:
                batch.append(message)
                if len(batch) == 200:
                    client.multiappend(folder, batch)
                    batch = []
            if batch:
                client.multiappend(folder, batch)

    def count(self, user: str, folder: str) -> int:
        with self.client(user) as client:
            if not client.folder_exists(folder):
                return 0
            return int(client.folder_status(folder, ["MESSAGES"])[b"MESSAGES"])

    def subjects(self, user: str, folder: str) -> list[str]:
        with self.client(user) as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            found = client.fetch(client.search("ALL"), ["ENVELOPE"])
            return sorted(
                (data[b"ENVELOPE"].subject or b"").decode("utf-8", "replace")
                for data in found.values()
            )

    def maildir(self, user: str, folder: str) -> Path:
        return self.mail / user if folder == "INBOX" else self.mail / user / f".{folder}"

    @contextmanager
    def hold(self, user: str, folder: str) -> Iterator[None]:
        """Hold the folder's maildir lock: a MOVE into it waits until the block ends."""
        with self.client(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
        lock = self.maildir(user, folder) / "dovecot-uidlist.lock"
        lock.write_text("")
        try:
            yield
        finally:
            lock.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def dovecot_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def dovecot_server(dovecot_ca: trustme.CA) -> Iterator[Dovecot]:
    """One Dovecot per test process, started on first use."""
    problem = dovecot_problem()
    if problem:
        pytest.skip(problem)
    server = Dovecot(dovecot_ca).start()
    yield server
    server.close()


@pytest.fixture
def dovecot(dovecot_server: Dovecot) -> Dovecot:
    """The shared Dovecot, running (a test that killed it may have left it down)."""
    if not dovecot_server.running:
        dovecot_server.start()
    return dovecot_server
