"""Whole e-mail messages into the report store: parsed by the upload code, written in one
transaction, and judged one by one (triage.py).

    outcomes = store_messages(report_store, [InboundMessage("INBOX #12", raw_bytes), ...])

Everything goes through the public entry points uploads use: `load_reports` reads every report in
the messages (aggregate, failure and TLS reports; attachments in any format receivers send), and
`ReportStore.import_batch` stores them, each report whole or not at all, a report already stored
counted as a duplicate. Either every message's reports are committed, and the caller may archive or
acknowledge them, or the store raises (`STORE_DOWN`: the database cannot be reached, is busy, or
refused the write): nothing is acknowledged and the messages come back. Reports committed before
the failure (the store commits report by report, in bounded chunks) are duplicates next time, so
nothing is lost or counted twice; a crash in between is the same as the error.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from diagnostics.dmarc import ReportStore, StoreError, load_reports
from diagnostics.errors import DatabaseUnavailable
from diagnostics.intake.triage import MessageOutcome, judge, parts_by_message

__all__ = ["STORE_DOWN", "InboundMessage", "store_messages"]

# What the store raises when it cannot take the reports now: the caller tries again later.
STORE_DOWN: tuple[type[Exception], ...] = (StoreError, DatabaseUnavailable)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message as received. `name` names it in outcomes and must be unique in a batch and hold
    no ':' (its parts are named "name:attachment"). `parts`, when given, are its report parts
    already taken out of it, (label, bytes) each (an IMAP server's BODYSTRUCTURE, _parts.py):
    then `data` is not read."""

    name: str
    data: bytes
    parts: tuple[tuple[str, bytes], ...] | None = None

    def sources(self) -> list[_Named]:
        if self.parts is None:
            return [_Named(self.data, self.name)]
        return [_Named(payload, f"{self.name}:{label}") for label, payload in self.parts]


class _Named(io.BytesIO):
    """The message's bytes under its name: `load_reports` names each part after it."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name


def store_messages(
    store: ReportStore,
    messages: Sequence[InboundMessage],
    *,
    touched: set[tuple[str, int | None]] | None = None,
) -> list[MessageOutcome]:
    """Store every report in `messages` (one transaction) and say what happened to each message,
    in order. Raises one of `STORE_DOWN` when the database cannot be written (module docstring).
    `touched`: as `ReportStore.import_batch` takes it, for a caller that compacts once after
    many calls."""
    if not messages:
        return []
    names = [m.name for m in messages]
    if len(set(names)) != len(names) or any(":" in name for name in names):
        raise ValueError("message names must be unique and hold no ':'")
    batch = load_reports([s for m in messages for s in m.sources()], limits=store.limits)
    summary = store.import_batch(batch, touched=touched)
    parts = parts_by_message(names, summary.files)
    return [judge(m.name, parts[m.name]) for m in messages]
