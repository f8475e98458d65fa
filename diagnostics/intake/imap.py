"""Reports from a mailbox over IMAP: each message in a folder read, its reports stored, and the
message moved to the archive folder once they are committed, or to the invalid folder (with the
reason in the outcome) when nothing in it is a report; then the folder watched with IDLE, or polled
where the server has no IDLE.

    settings = MailboxSettings.from_address("imap.example.com", username="dmarc@example.com",
                                            password=Secret(pw))
    outcomes = check_mailbox(settings, report_store)   # one pass: "check now", cron
    Watcher(settings, report_store).run()              # until stop(): IDLE, reconnects

Idempotent and crash-safe. Messages are read with BODY.PEEK (nothing is marked read) and moved only
after the transaction holding their reports has committed (messages.py). A crash, a lost connection
or a database error before the move leaves them where they were: the next pass reads them again,
finds their reports already stored (duplicates, stored once) and moves them then.

TLS is always verified: implicit TLS (port 993) or STARTTLS (143); `cafile`/`cadata` add a private
CA to the system's. Nothing turns verification off. A refused login or an untrusted certificate
raises at once (MailboxLoginRefused, MailboxError): trying again would not help, and repeated
wrong passwords lock accounts. A lost connection raises MailboxUnreachable; the Watcher then
reconnects after a bounded, jittered backoff (retry.py).

Messages over `max_message_bytes` (RFC822.SIZE, asked before any body is fetched) are never
downloaded: they go to the invalid folder with the cap named. The rest are fetched and stored in
chunks (at most CHUNK_MESSAGES messages and CHUNK_BYTES bytes at a time), one transaction each.

A backlog costs a few commands a chunk, not a few a message: the heads of a block of messages
(size, subject, BODYSTRUCTURE) in one FETCH, read by a small parser (_fetch.py), a block ahead of
the chunks cut from them (_backlog.py); then only the report parts of each message (_parts.py),
one FETCH for all messages of a chunk shaped alike; one MOVE per chunk and folder. The IMAP
commands run on a thread of their own, so the next heads and the next chunk are fetched, and the
last chunk moved, while a chunk is stored.
"""

from __future__ import annotations

import email.header
import imaplib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import LoginError

from diagnostics.dmarc import ParseLimits, ReportStore
from diagnostics.domains import public_suffix_list
from diagnostics.errors import InvalidInput, MailboxError, MailboxLoginRefused, MailboxUnreachable
from diagnostics.intake._backlog import Backlog
from diagnostics.intake._fetch import FetchParseError, body, fetch_items
from diagnostics.intake._parts import StructureLeaf, decoded, leaves, report_parts
from diagnostics.intake.endpoints import parse_endpoint
from diagnostics.intake.messages import STORE_DOWN, InboundMessage, store_messages
from diagnostics.intake.retry import Backoff
from diagnostics.intake.triage import MessageOutcome, MiB, plain, too_large
from diagnostics.secret import Secret

__all__ = [
    "CHUNK_BYTES",
    "CHUNK_MESSAGES",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "ImapSecurity",
    "MailboxSettings",
    "Watcher",
    "check_mailbox",
]

log = logging.getLogger(__name__)

# Larger than any aggregate report a receiver sends (the big ones are a few MiB zipped), and than
# what most mail hosts accept in one message.
DEFAULT_MAX_MESSAGE_BYTES = 32 * MiB
# Each chunk costs the parser and the store a few ms whatever its size (frames, statements, a
# commit): 2,000 one-report messages took about 5% less CPU in chunks of 500 than of 200. The
# first chunks are smaller (_backlog.py), so the first reports are stored as soon as before.
CHUNK_MESSAGES = 500
CHUNK_BYTES = 32 * MiB
# RFC 2177: a client should re-issue IDLE at least every 29 minutes.
IDLE_SECONDS = 25 * 60
_IMAPLIB_TRACE = "imapclient.imaplib"  # the logger imapclient gives imaplib's trace to
_READ_BUFFER = 256 * 1024
_HEADS = "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"
_HEADS_KEY = b"BODY[HEADER.FIELDS (SUBJECT)]"

# progress(done, total) after each message of a pass.
BacklogProgress = Callable[[int, int], None]
OnOutcome = Callable[[MessageOutcome], None]

# Worth another try after a pause: the server went away, or the store cannot take reports now.
_RETRIED: tuple[type[Exception], ...] = (MailboxUnreachable, *STORE_DOWN)


class ImapSecurity(StrEnum):
    """How the connection is encrypted: implicit TLS (993) or STARTTLS (143). Always one of them."""

    TLS = "tls"
    STARTTLS = "starttls"


@dataclass(frozen=True, slots=True)
class MailboxSettings:
    """Where the reports arrive and where they go once read. `repr()` never shows the password."""

    host: str
    port: int = 993
    security: ImapSecurity = ImapSecurity.TLS
    username: str = ""
    password: Secret = field(default_factory=lambda: Secret(""))
    folder: str = "INBOX"
    archive: str = "Archive"
    invalid: str = "Invalid"
    cafile: str | None = None  # a PEM file of extra CA certificates to trust
    cadata: str | None = None  # the same as PEM text (what the admin store keeps)
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    timeout: float = 60.0

    def __post_init__(self) -> None:
        if not self.host.strip():
            raise InvalidInput("The IMAP server needs a host name.")
        if not 0 < self.port < 65536:
            raise InvalidInput("The IMAP port must be a number from 1 to 65535.")
        folders = [self.folder, self.archive, self.invalid]
        if any(not f.strip() for f in folders):
            raise InvalidInput("The folder, archive folder and invalid folder all need a name.")
        if len({f.strip().lower() for f in folders}) != 3:
            raise InvalidInput(
                "The folder read, the archive folder and the invalid folder must be three "
                "different folders, or messages would be read again and again."
            )
        if self.max_message_bytes <= 0 or self.timeout <= 0:
            raise InvalidInput("The message size cap and the timeout must be positive.")

    @classmethod
    def from_address(
        cls, address: str, *, security: ImapSecurity | str | None = None, **kwargs: Any
    ) -> MailboxSettings:
        """Settings for `HOST[:PORT]`. Without a port, 993 (TLS) or 143 (STARTTLS) as `security`
        says; without `security`, STARTTLS on port 143 and implicit TLS otherwise."""
        chosen = ImapSecurity(security) if security is not None else None
        default = 143 if chosen is ImapSecurity.STARTTLS else 993
        host, port = parse_endpoint(address, default, "--imap")
        assert port is not None
        if chosen is None:
            chosen = ImapSecurity.STARTTLS if port == 143 else ImapSecurity.TLS
        return cls(host=host, port=port, security=chosen, **kwargs)

    def public_dict(self) -> dict[str, object]:
        """The settings as a page or a log may show them: the password as a hint only."""
        return {
            "host": self.host,
            "port": self.port,
            "security": self.security.value,
            "username": self.username,
            "password": self.password.hint(),
            "folder": self.folder,
            "archive": self.archive,
            "invalid": self.invalid,
            "private_ca": bool(self.cafile or self.cadata),
            "max_message_bytes": self.max_message_bytes,
        }


@dataclass(frozen=True, slots=True)
class _Head:
    size: int
    subject: str
    structure: Any = None  # the BODYSTRUCTURE, as imapclient parses it


class Mailbox:
    """One logged-in IMAP connection with the folder selected. Made by `open_mailbox`."""

    def __init__(self, client: IMAPClient, settings: MailboxSettings) -> None:
        self._client = client
        _read_quickly(client)
        self.settings = settings
        self.idle = client.has_capability("IDLE")
        self._move = client.has_capability("MOVE")
        self._uidplus = client.has_capability("UIDPLUS")

    def pending(self) -> list[int]:
        """The UIDs of every message in the folder, oldest first."""
        with _talking(self.settings):
            found = self._client.search(["NOT", "DELETED"])
        return sorted(int(uid) for uid in found)

    def heads(self, uids: Sequence[int]) -> dict[int, _Head]:
        """Size, subject and structure of each message, without fetching any body."""
        heads: dict[int, _Head] = {}
        for start in range(0, len(uids), 1000):
            found = self._fetch(
                uids[start : start + 1000], ["RFC822.SIZE", _HEADS, "BODYSTRUCTURE"]
            )
            for uid, data in found.items():
                heads[uid] = _Head(
                    int(data[b"RFC822.SIZE"]),
                    _subject(data.get(_HEADS_KEY)),
                    data.get(b"BODYSTRUCTURE"),
                )
        return heads

    def parts(self, uids: Sequence[int], sections: Sequence[str]) -> dict[int, list[bytes]]:
        """The raw bytes of the same `sections` of each message (BODY.PEEK[n]: nothing is marked
        read), in the order of `sections`; a message that lacks one is left out."""
        found = self._fetch(uids, [f"BODY.PEEK[{s}]" for s in sections])
        out: dict[int, list[bytes]] = {}
        for uid, data in found.items():
            values = [data.get(f"BODY[{s}]".encode()) for s in sections]
            raw = [bytes(v) for v in values if isinstance(v, bytes)]
            if len(raw) == len(values):
                out[uid] = raw
        return out

    def _fetch(self, uids: Sequence[int], items: Sequence[str]) -> dict[int, dict[bytes, Any]]:
        """UID FETCH `items` of `uids`: {uid: {item: value}}, a BODYSTRUCTURE shaped as imapclient
        shapes it. Read by _fetch.py (about half the CPU of imapclient's parser on a backlog);
        by imapclient's own fetch when a response is in a form that parser does not take."""
        wanted = {int(uid) for uid in uids}
        with _talking(self.settings):
            # imaplib's public uid() on the connection under imapclient (its `_imap`).
            kind, data = self._client._imap.uid(
                "FETCH", ",".join(str(uid) for uid in sorted(wanted)), f"({' '.join(items)})"
            )
        if kind != "OK":
            raise MailboxError(f"The IMAP server {_where(self.settings)} refused a FETCH.")
        try:
            parsed = fetch_items([d for d in data if d is not None])
            found = {
                int(values[b"UID"]): values
                for values in parsed.values()
                if b"UID" in values and int(values[b"UID"]) in wanted
            }
        except (FetchParseError, ValueError, TypeError):
            log.debug("a FETCH response read by imapclient's parser instead", exc_info=True)
            return self._fetch_slowly(uids, items)
        for values in found.values():
            if b"BODYSTRUCTURE" in values:
                values[b"BODYSTRUCTURE"] = body(values[b"BODYSTRUCTURE"])
        return found

    def _fetch_slowly(
        self, uids: Sequence[int], items: Sequence[str]
    ) -> dict[int, dict[bytes, Any]]:
        with _talking(self.settings):
            found = self._client.fetch(list(uids), list(items))
        return {int(uid): dict(values) for uid, values in found.items()}

    def bodies(self, uids: Sequence[int]) -> dict[int, bytes]:
        """The whole messages, read without marking them read (BODY.PEEK)."""
        with _talking(self.settings):
            found = self._client.fetch(list(uids), ["BODY.PEEK[]"])
        return {int(uid): bytes(data[b"BODY[]"]) for uid, data in found.items()}

    def move(self, uids: Sequence[int], folder: str) -> None:
        if not uids:
            return
        with _talking(self.settings):
            if self._move:
                self._client.move(list(uids), folder)
                return
            self._client.copy(list(uids), folder)
            self._client.delete_messages(list(uids))
            if self._uidplus:
                self._client.uid_expunge(list(uids))
            else:
                self._client.expunge()

    def wait(self, seconds: float, stop: threading.Event) -> None:
        """Until something arrives (IDLE) or `seconds` pass; polling servers just wait."""
        if not self.idle:
            stop.wait(seconds)
            with _talking(self.settings):
                self._client.noop()
            return
        with _talking(self.settings):
            self._client.idle()
            try:
                deadline = time.monotonic() + seconds
                while not stop.is_set():
                    step = deadline - time.monotonic()
                    if step <= 0:
                        break
                    started = time.monotonic()
                    responses = self._client.idle_check(timeout=min(step, 60.0))
                    if any(_arrived(r) for r in responses):
                        break
                    if not responses and time.monotonic() - started < min(step, 60.0) / 2:
                        # Woken early with nothing read: the connection closed (or stop());
                        # idle_done below finds out which.
                        break
                    # Responses without news ("* OK Still here") keep the wait going.
            finally:
                self._client.idle_done()

    def interrupt(self) -> None:
        """Wake a wait from another thread (`Watcher.stop`): the connection is shut down."""
        with suppress(OSError):
            self._client.socket().shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        try:
            self._client.logout()
        except (OSError, imaplib.IMAP4.error):
            with suppress(OSError, imaplib.IMAP4.error):
                self._client.shutdown()


def _read_quickly(client: IMAPClient) -> None:
    """Make imaplib, under imapclient, read responses with less CPU and fewer thread switches.
    Called once logged in (and after STARTTLS, which makes a new reader), between commands, so
    nothing the server sent is left in the reader replaced."""
    imap = client._imap
    if not logging.getLogger(_IMAPLIB_TRACE).isEnabledFor(logging.DEBUG):
        # imapclient sets imaplib's debug level to 5 to pass its trace to that logger, and
        # imaplib then formats a repr of every line, literal and pattern match it reads,
        # logged or not: half the CPU of reading a FETCH (measured: 2,000 heads 35 -> 18 ms,
        # their report parts 39 -> 19 ms). Set only after the login, which it redacts.
        imap.debug = 0
    # imaplib reads through an 8 KiB buffer: every refill is a read on the TLS socket, which lets
    # go of the GIL and takes it back, a thread switch while the store works on the other thread.
    # Measured with 256 KiB on 2,000 messages, 4 drains each way, alternated, twice: wall median
    # 1.23 -> 1.04 s and 1.35 -> 1.27 s (the machine shared with other work; CPU the same).
    replaced, imap.file = imap.file, imap.sock.makefile("rb", buffering=_READ_BUFFER)
    replaced.close()  # its hold on the socket only: the socket stays open


def open_mailbox(settings: MailboxSettings) -> Mailbox:
    """Connect, verify TLS, log in, create the archive and invalid folders if missing, and select
    the folder. Raises MailboxLoginRefused, MailboxError or MailboxUnreachable (see module doc)."""
    context = _tls_context(settings)
    where = f"{settings.host}:{settings.port}"
    try:
        client = IMAPClient(
            settings.host,
            settings.port,
            ssl=settings.security is ImapSecurity.TLS,
            ssl_context=context,
            timeout=SocketTimeout(connect=settings.timeout, read=settings.timeout),
        )
    except ssl.SSLCertVerificationError as exc:
        raise _untrusted(where, exc) from None
    except socket.gaierror:
        raise MailboxUnreachable(
            f"The IMAP server name {settings.host} cannot be resolved."
        ) from None
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxUnreachable(
            f"Cannot connect to the IMAP server {where}: {_why(exc)}."
        ) from None
    try:
        if settings.security is ImapSecurity.STARTTLS:
            try:
                client.starttls(context)
            except ssl.SSLCertVerificationError as exc:
                raise _untrusted(where, exc) from None
            except imaplib.IMAP4.abort:
                raise
            except imaplib.IMAP4.error:
                raise MailboxError(
                    f"The IMAP server {where} does not offer STARTTLS; the desk never sends a "
                    "password unencrypted. Use its TLS port (usually 993)."
                ) from None
        try:
            client.login(settings.username, settings.password.reveal())
        except LoginError:
            raise MailboxLoginRefused(
                f"The IMAP server {where} refused the user name or password for "
                f"{plain(settings.username, 80)!r}. Check them; the desk does not retry a refused "
                "login."
            ) from None
        with _talking(settings):
            for folder in (settings.archive, settings.invalid):
                if not client.folder_exists(folder):
                    try:
                        client.create_folder(folder)
                    except imaplib.IMAP4.abort:
                        raise
                    except imaplib.IMAP4.error:
                        if not client.folder_exists(folder):  # not made by someone else meanwhile
                            raise MailboxError(
                                f"The folder {folder!r} does not exist on {where} and cannot be "
                                "created."
                            ) from None
            try:
                client.select_folder(settings.folder)
            except imaplib.IMAP4.abort:
                raise
            except imaplib.IMAP4.error:
                raise MailboxError(
                    f"The folder {settings.folder!r} cannot be opened on {where}."
                ) from None
    except BaseException:
        with suppress(OSError):
            client.shutdown()
        raise
    return Mailbox(client, settings)


def check_mailbox(
    settings: MailboxSettings,
    store: ReportStore,
    *,
    progress: BacklogProgress | None = None,
    on_outcome: OnOutcome | None = None,
) -> list[MessageOutcome]:
    """One pass: every message now in the folder, stored and moved; the outcomes in order.
    Raises as `open_mailbox` does, MailboxUnreachable when the connection is lost and StoreError
    when the database cannot be written (what was done before stays done: see `on_outcome`)."""
    with ThreadPoolExecutor(1, thread_name_prefix="imap-open") as opener:
        opening = opener.submit(open_mailbox, settings)
        try:
            _warm_up()
        except BaseException:
            with suppress(Exception):
                opening.result().close()
            raise
        mailbox = opening.result()  # raises what opening raised
    try:
        return drain(mailbox, store, progress=progress, on_outcome=on_outcome)
    finally:
        mailbox.close()


def _warm_up() -> None:
    """What the first reports would wait for, done while the server answers the connection and
    the login: the public suffix list by which the parser names each report's sender, loaded once
    a process (tens of ms of CPU), so the first pass of a process does not pay it after."""
    public_suffix_list()


def drain(
    mailbox: Mailbox,
    store: ReportStore,
    *,
    progress: BacklogProgress | None = None,
    on_outcome: OnOutcome | None = None,
    stop: threading.Event | None = None,
) -> list[MessageOutcome]:
    """Store and move every message now in the selected folder, a chunk at a time; the rollup
    days the reports fell on are compacted once, at the end."""
    uids = mailbox.pending()
    if not uids:
        return []
    outcomes: list[MessageOutcome] = []
    touched: set[tuple[str, int | None]] = set()  # the rollup days to compact, once
    try:
        _drain_chunks(mailbox, store, uids, outcomes, touched, progress, on_outcome, stop)
    finally:
        # Compaction only tidies the rollup (the figures are right without it), so it never
        # holds a message back, and an error in it is logged. Done already unless the pass
        # failed: then it tidies what was stored.
        store.compact(touched)
    return outcomes


def _drain_chunks(
    mailbox: Mailbox,
    store: ReportStore,
    uids: list[int],
    outcomes: list[MessageOutcome],
    touched: set[tuple[str, int | None]],
    progress: BacklogProgress | None,
    on_outcome: OnOutcome | None,
    stop: threading.Event | None,
) -> None:
    """Pipelined: every IMAP command runs on one thread of its own, in order (one connection),
    while this thread stores. The heads of the next block of messages (_backlog.py) and the next
    chunk's report parts are fetched while this chunk is stored, and a chunk is moved while the
    next is stored; a chunk's moves are queued only once its reports are committed, and its
    outcomes are reported (here, on the caller's thread) once they are moved."""
    settings = mailbox.settings

    def report(chunk: list[int], done: dict[int, MessageOutcome], moved: Future[None]) -> None:
        moved.result()  # raises what the move raised: those messages stay, and are read again
        for uid in chunk:
            if uid not in done:
                continue
            outcome = done[uid]
            subject = backlog.heads[uid].subject
            if subject:
                outcome = _with_subject(outcome, subject)
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
            if progress is not None:
                progress(len(outcomes), backlog.total)

    with ThreadPoolExecutor(1, thread_name_prefix="imap") as imap:
        backlog: Backlog[_Head] = Backlog(
            uids,
            lambda block: imap.submit(mailbox.heads, block),
            most=CHUNK_MESSAGES,
            most_bytes=CHUNK_BYTES,
            cap=settings.max_message_bytes,
        )

        def fetch(chunk: list[int]) -> Future[_Fetched]:
            heads = {uid: backlog.heads[uid] for uid in chunk}
            return imap.submit(_fetch_chunk, mailbox, chunk, heads, store.limits)

        chunk = backlog.next()
        if chunk is None:
            return
        fetched = fetch(chunk)
        backlog.ask()  # the next block's heads, fetched after this chunk's parts
        waiting: tuple[list[int], dict[int, MessageOutcome], Future[None]] | None = None
        try:
            while chunk is not None:
                if stop is not None and stop.is_set():
                    break
                done, inbound = fetched.result()
                upcoming = backlog.next()
                if upcoming is not None:
                    fetched = fetch(upcoming)
                    backlog.ask()
                present = [uid for uid in chunk if uid in inbound]
                if present:
                    # Committed before anything moves; StoreError leaves this chunk where it is.
                    stored = store_messages(
                        store, [inbound[uid] for uid in present], touched=touched
                    )
                    done.update(zip(present, stored, strict=True))
                del inbound
                if waiting is not None:
                    report(*waiting)
                    waiting = None
                archive = [u for u in chunk if u in done and done[u].done]
                invalid = [u for u in chunk if u in done and not done[u].done]
                waiting = (chunk, done, imap.submit(_move_chunk, mailbox, archive, invalid))
                chunk = upcoming
            if chunk is None:
                # Everything is stored: the rollup is compacted while the last chunk is moved.
                store.compact(touched)
        except BaseException:
            fetched.cancel()  # a fetch not yet begun is not needed any more
            backlog.cancel()
            if waiting is not None:  # moved already, or moving: said, unless the move failed too
                with suppress(Exception):
                    report(*waiting)
            raise
        fetched.cancel()  # stopped: the next chunk is read next time
        backlog.cancel()
        if waiting is not None:
            report(*waiting)


# What the IMAP thread hands over for a chunk: the outcomes of messages judged unread (over the
# size cap), and the rest as the store takes them.
_Fetched = tuple[dict[int, MessageOutcome], dict[int, InboundMessage]]


def _fetch_chunk(
    mailbox: Mailbox, chunk: list[int], heads: dict[int, _Head], limits: ParseLimits
) -> _Fetched:
    """On the IMAP thread: the chunk's messages read (_read), and those over the size cap judged
    unread."""
    settings = mailbox.settings
    done: dict[int, MessageOutcome] = {}
    names = {uid: _name(settings.folder, uid) for uid in chunk}
    readable = []
    for uid in chunk:
        if heads[uid].size > settings.max_message_bytes:
            done[uid] = too_large(names[uid], heads[uid].size, settings.max_message_bytes)
        else:
            readable.append(uid)
    inbound = _read(mailbox, readable, heads, names, limits) if readable else {}
    return done, inbound


def _move_chunk(mailbox: Mailbox, archive: list[int], invalid: list[int]) -> None:
    mailbox.move(archive, mailbox.settings.archive)
    mailbox.move(invalid, mailbox.settings.invalid)


def _read(
    mailbox: Mailbox,
    uids: list[int],
    heads: dict[int, _Head],
    names: dict[int, str],
    limits: ParseLimits,
) -> dict[int, InboundMessage]:
    """The messages `uids` as the store takes them: the report parts alone where the structure
    the server gave allows it (_parts.py), one FETCH for all messages shaped alike; the whole
    message otherwise. A message expunged meanwhile is simply absent."""
    inbound: dict[int, InboundMessage] = {}
    shapes: dict[tuple[str, ...], list[tuple[int, list[StructureLeaf]]]] = {}
    whole: list[int] = []
    for uid in uids:
        found = leaves(heads[uid].structure, limits.max_email_parts)
        if found is None:
            whole.append(uid)
        else:
            shapes.setdefault(tuple(leaf.section for leaf in found), []).append((uid, found))
    for sections, members in shapes.items():
        fetched = mailbox.parts([uid for uid, _ in members], sections)
        for uid, found in members:
            if uid not in fetched:
                continue
            pairs = [
                (leaf, decoded(raw, leaf.encoding))
                for leaf, raw in zip(found, fetched[uid], strict=True)
            ]
            whole_parts = [(leaf, p) for leaf, p in pairs if p is not None]
            taken = None
            if len(whole_parts) == len(pairs):  # every part decoded
                taken = report_parts(whole_parts, limits.max_report_bytes)
            if taken is None:
                whole.append(uid)
            else:
                inbound[uid] = InboundMessage(names[uid], b"", tuple(taken))
    if whole:
        bodies = mailbox.bodies(sorted(whole))
        inbound.update((uid, InboundMessage(names[uid], bodies[uid])) for uid in bodies)
    return inbound


class Watcher:
    """Drain the folder, then wait for more (IDLE, else polling every `poll_seconds`), until
    `stop()`. A lost connection or an unavailable store is retried after `backoff`; a refused
    login or an untrusted certificate ends `run()` with the exception."""

    def __init__(
        self,
        settings: MailboxSettings,
        store: ReportStore,
        *,
        poll_seconds: float = 60.0,
        idle_seconds: float = IDLE_SECONDS,
        backoff: Backoff | None = None,
        progress: BacklogProgress | None = None,
        on_outcome: OnOutcome | None = None,
        on_retry: Callable[[str, float], None] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.poll_seconds = poll_seconds
        self.idle_seconds = idle_seconds
        self.backoff = backoff or Backoff()
        self.progress = progress
        self.on_outcome = on_outcome
        self.on_retry = on_retry
        self._stop = threading.Event()
        self._mailbox: Mailbox | None = None
        # Re-entrant: stop() may run in a signal handler while run() holds it (the CLI's SIGTERM).
        self._lock = threading.RLock()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                mailbox = open_mailbox(self.settings)
                with self._lock:
                    self._mailbox = mailbox
                try:
                    while not self._stop.is_set():
                        drain(
                            mailbox,
                            self.store,
                            progress=self.progress,
                            on_outcome=self.on_outcome,
                            stop=self._stop,
                        )
                        self.backoff.reset()
                        if self._stop.is_set():
                            break
                        wait = self.idle_seconds if mailbox.idle else self.poll_seconds
                        mailbox.wait(wait, self._stop)
                finally:
                    with self._lock:
                        self._mailbox = None
                    mailbox.close()
            except _RETRIED as exc:
                if self._stop.is_set():
                    break
                delay = self.backoff.next()
                log.warning("%s; trying again in %.0f s", exc, delay)
                if self.on_retry is not None:
                    self.on_retry(str(exc), delay)
                self._stop.wait(delay)

    def stop(self) -> None:
        """Ask `run()` to return: at once from a wait or a backoff, else after the current chunk."""
        self._stop.set()
        with self._lock:
            if self._mailbox is not None:
                self._mailbox.interrupt()


@contextmanager
def _talking(settings: MailboxSettings) -> Iterator[None]:
    """IMAP errors in the desk's terms: a lost connection is MailboxUnreachable (try again)."""
    where = f"{settings.host}:{settings.port}"
    try:
        yield
    except imaplib.IMAP4.abort as exc:
        raise MailboxUnreachable(f"The connection to {where} was lost: {_why(exc)}.") from None
    except (OSError, EOFError) as exc:
        raise MailboxUnreachable(f"The connection to {where} was lost: {_why(exc)}.") from None
    except imaplib.IMAP4.error as exc:
        raise MailboxError(f"The IMAP server {where} refused a command: {_why(exc)}.") from None


def _where(settings: MailboxSettings) -> str:
    return f"{settings.host}:{settings.port}"


def _tls_context(settings: MailboxSettings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if settings.cafile or settings.cadata:
        try:
            context.load_verify_locations(cafile=settings.cafile, cadata=settings.cadata)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise MailboxError(
                f"The private CA certificates cannot be read: {_why(exc)}. Give a PEM file."
            ) from None
    return context


def _untrusted(where: str, exc: ssl.SSLCertVerificationError) -> MailboxError:
    return MailboxError(
        f"The certificate of the IMAP server {where} is not trusted "
        f"({exc.verify_message or 'verification failed'}). If it is signed by a private CA, "
        "give that CA's certificate (--cafile); verification is never turned off."
    )


def _why(exc: BaseException) -> str:
    first = exc.args[0] if exc.args else exc
    # imaplib passes the server's words on as bytes.
    text = first.decode("utf-8", "replace") if isinstance(first, bytes) else str(first)
    return plain(text, 200) or type(exc).__name__


def _name(folder: str, uid: int) -> str:
    return f"{plain(folder, 60).replace(':', ' ')} #{uid}"


def _subject(raw: Any) -> str:
    if not raw:
        return ""
    text = bytes(raw).decode("utf-8", "replace")
    value = text.partition(":")[2].strip()
    with suppress(ValueError, LookupError, UnicodeError):
        value = str(email.header.make_header(email.header.decode_header(value)))
    return plain(value, 80)


def _with_subject(outcome: MessageOutcome, subject: str) -> MessageOutcome:
    return replace(outcome, message=f"{outcome.message} “{subject}”")


def _arrived(response: Any) -> bool:
    return (
        isinstance(response, tuple) and len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT")
    )
