"""The support queue (issue 16): every account's troubles as the last refresh found them, stored, so
the "Needs attention" page and `python -m admin queue` read one table and rank thousands of accounts
without diagnosing any.

    queue = store.queue                                 # bound to the store's principal
    queue.entries(plan="nano", kind="connection_failing", provider="sendgrid")
    queue.save(evidence, troubles)                      # what admin.queue_refresh computed
    queue.mark_stale(account_ids=[7]) / mark_stale(domains=["example.com"])

A row is written by a refresh (admin.queue_refresh: the account diagnosis of issue 12 and the
domain's report figures) and marked stale by what changes its evidence: a recorded SMTP test, a
report import for its domain, a change to the account or its connections. The next refresh (right
after, on the page or the command line, or the alert run) clears it.

Who: everyone who may see accounts sees the queue (analysts too): a row holds plain lines, codes, the
plan, the provider and the domain, never a connection's settings or a secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from admin import alert_rules
from admin._bound import BoundPart
from admin.access import Actor, Permission
from admin.models import AccountRow, ConnectionRow, MetaRow, QueueRow
from admin.plans import Plan
from admin.sending import sending_domain_of
from admin.troubles import QueueEvidence, Rule, Trouble, TroubleKind, one_line, score
from diagnostics import providers

__all__ = ["QueueEntry", "SupportQueue", "mark_stale_in"]

# Refreshing marks rows in chunks: a bulk import may name thousands of domains.
_CHUNK = 500
# desk_meta: the newest report id whose domain the queue has marked (admin.queue_refresh).
_REPORT_MARK = "queue_report_mark"


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One account's place in the queue, as a page or the command line shows it."""

    account_id: int
    account_name: str
    plan: Plan
    provider: str | None
    domain: str
    score: int
    messages: int
    troubles: tuple[Trouble, ...]
    line: str
    stale: bool
    refreshed_at: datetime

    @property
    def kinds(self) -> tuple[TroubleKind, ...]:
        return tuple(t.kind for t in self.troubles)

    @property
    def provider_name(self) -> str:
        """The provider as people know it ("Amazon SES"); "" for managed or unknown hosts."""
        if not self.provider:
            return ""
        try:
            return providers.get(self.provider).name
        except KeyError:  # a provider a later catalogue knows
            return self.provider

    def to_dict(self) -> dict[str, Any]:
        """The `--json` and API form: codes as codes."""
        return {
            "account_id": self.account_id,
            "account": self.account_name,
            "plan": self.plan.value,
            "provider": self.provider,
            "domain": self.domain,
            "score": self.score,
            "messages": self.messages,
            "kinds": [k.value for k in self.kinds],
            "line": self.line,
            "troubles": [t.to_dict() for t in self.troubles],
            "stale": self.stale,
            "refreshed_at": self.refreshed_at.isoformat(),
        }


class SupportQueue(BoundPart):
    """The stored queue, over the store's transactions. Made by `Store.queue`."""

    # -- reading -----------------------------------------------------------------------------------

    def entries(
        self,
        *,
        plan: Plan | str | None = None,
        kind: TroubleKind | str | None = None,
        provider: str | None = None,
        everyone: bool = False,
        limit: int | None = None,
        actor: Actor = "system",
    ) -> list[QueueEntry]:
        """Accounts that need attention, the worst first (then the most messages affected, then
        by name). `everyone`: the accounts with nothing wrong too, last. Filters: `plan`, one
        trouble `kind`, `provider` (a catalogue key; "" for managed or unknown hosts)."""
        self._allow(actor, Permission.VIEW_ACCOUNTS)
        query = select(QueueRow).order_by(
            QueueRow.score.desc(),
            QueueRow.messages.desc(),
            QueueRow.account_name,
            QueueRow.account_id,
        )
        if not everyone:
            query = query.where(QueueRow.score > 0)
        if plan is not None:
            query = query.where(QueueRow.plan == Plan.parse(plan).value)
        if provider is not None:
            query = query.where(
                QueueRow.provider.is_(None) if provider == "" else QueueRow.provider == provider
            )
        wanted = TroubleKind(kind) if kind is not None else None
        found: list[QueueEntry] = []
        with self._tx.read() as s:
            # The kind is a member of a JSON list, which the two databases query differently;
            # filtered here instead, on rows that already passed the indexed filters.
            for row in s.scalars(query.execution_options(yield_per=1000)):
                entry = _entry(row)
                if wanted is not None and wanted not in entry.kinds:
                    continue
                found.append(entry)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def entry(self, account_id: int, *, actor: Actor = "system") -> QueueEntry | None:
        """The account's row, or None before its first refresh."""
        self._allow(actor, Permission.VIEW_ACCOUNTS)
        with self._tx.read() as s:
            row = s.get(QueueRow, account_id)
            return _entry(row) if row is not None else None

    def facets(self, *, actor: Actor = "system") -> tuple[list[str], list[str]]:
        """The plans and providers present in the queue, for the filters."""
        self._allow(actor, Permission.VIEW_ACCOUNTS)
        with self._tx.read() as s:
            plans = sorted(p for p in s.scalars(select(QueueRow.plan).distinct()) if p)
            providers = sorted(p for p in s.scalars(select(QueueRow.provider).distinct()) if p)
        return plans, providers

    def counts(self, *, actor: Actor = "system") -> dict[str, int]:
        """accounts (with a row), needing attention, stale, and without a row yet."""
        self._allow(actor, Permission.VIEW_ACCOUNTS)
        with self._tx.read() as s:
            rows = s.scalar(select(func.count()).select_from(QueueRow)) or 0
            needing = s.scalar(select(func.count()).where(QueueRow.score > 0)) or 0
            stale = s.scalar(select(func.count()).where(QueueRow.stale.is_(True))) or 0
            accounts = s.scalar(select(func.count()).select_from(AccountRow)) or 0
        return {"accounts": rows, "attention": needing, "stale": stale, "missing": accounts - rows}

    def rules(self, *, actor: Actor = "system") -> dict[TroubleKind, Rule]:
        """The desk's rule for every kind (admin.alert_rules): their thresholds decide troubles."""
        self._allow(actor, Permission.VIEW_ACCOUNTS)
        with self._tx.read() as s:
            return alert_rules.load(s)

    def to_refresh(
        self,
        *,
        domains: Iterable[str] | None = None,
        limit: int | None = None,
        actor: Actor = "system",
    ) -> list[int]:
        """Accounts whose row is stale or missing, stale ones first by id. With `domains`: only
        the stale rows of accounts sending from them (after an import for those domains)."""
        self._allow(actor, Permission.VIEW_ACCOUNTS)
        if domains is not None:
            return self._stale_of(domains, limit)
        with self._tx.read() as s:
            missing = select(AccountRow.id).where(~AccountRow.id.in_(select(QueueRow.account_id)))
            stale = select(QueueRow.account_id).where(QueueRow.stale.is_(True))
            ids = [*s.scalars(stale.order_by(QueueRow.account_id))]
            ids += [*s.scalars(missing.order_by(AccountRow.id))]
        return ids[:limit] if limit is not None else ids

    def _stale_of(self, domains: Iterable[str], limit: int | None) -> list[int]:
        names = sorted({d.strip().lower() for d in domains})
        ids: list[int] = []
        with self._tx.read() as s:
            for i in range(0, len(names), _CHUNK):
                stale = select(QueueRow.account_id).where(
                    QueueRow.stale.is_(True), QueueRow.domain.in_(names[i : i + _CHUNK])
                )
                ids += s.scalars(stale)
            # An account never diagnosed has no row to mark: it is refreshed too when it sends
            # from one of these domains, or its first row would miss the reports just imported.
            if names:
                ids += _unlisted_sending_from(s, set(names))
        ids.sort()
        return ids[:limit] if limit is not None else ids

    # -- writing -----------------------------------------------------------------------------------

    def save(
        self,
        evidence: QueueEvidence,
        found: Sequence[Trouble],
        *,
        actor: Actor = "system",
    ) -> QueueEntry:
        """Store one account's refreshed row (derived data: no audit entry)."""
        self._allow(actor, Permission.VIEW_ACCOUNTS)
        with self._tx.write() as s:
            row = s.get(QueueRow, evidence.account_id, with_for_update=True)
            if row is None:
                row = QueueRow(account_id=evidence.account_id)
                s.add(row)
            row.account_name = evidence.name
            row.plan = evidence.plan
            row.provider = evidence.provider
            row.domain = evidence.domain
            row.score = score(found)
            row.messages = sum(t.messages for t in found)
            row.kinds = [t.kind.value for t in found]
            row.line = one_line(found)
            row.troubles = [t.to_dict() for t in found]
            row.stale = False
            row.refreshed_at = self._tx.now()
            s.flush()
            return _entry(row)

    def mark_stale(
        self,
        *,
        account_ids: Iterable[int] = (),
        domains: Iterable[str] = (),
    ) -> int:
        """Mark the rows of these accounts, and of the accounts sending from these domains, for
        the next refresh; how many rows were marked. Anyone whose action changed the evidence
        may (a test, an import): it only asks for a refresh."""
        with self._tx.write() as s:
            return mark_stale_in(s, account_ids=account_ids, domains=domains)

    def report_mark(self) -> int:
        """The newest report id the queue has taken into account (0: none yet)."""
        with self._tx.read() as s:
            row = s.get(MetaRow, _REPORT_MARK)
            return int(row.value) if row is not None else 0

    def set_report_mark(self, mark: int) -> None:
        with self._tx.write() as s:
            row = s.get(MetaRow, _REPORT_MARK, with_for_update=True)
            if row is None:
                s.add(MetaRow(key=_REPORT_MARK, value=str(int(mark))))
            elif int(row.value) < mark:
                row.value = str(int(mark))

    def forget(self, account_id: int) -> None:
        """Drop the row of an account that no longer exists."""
        with self._tx.write() as s:
            row = s.get(QueueRow, account_id)
            if row is not None:
                s.delete(row)


def _unlisted_sending_from(s: Session, domains: set[str]) -> list[int]:
    """The accounts without a queue row whose sending domain (`admin.sending.sending_domain`: the
    active connection's From domain, else the first saved connection's) is one of `domains`."""
    rows = s.execute(
        select(AccountRow.id, AccountRow.active_connection_id).where(
            ~AccountRow.id.in_(select(QueueRow.account_id))
        )
    ).tuples()
    unlisted = {account_id: active for account_id, active in rows}
    senders: dict[int, list[tuple[int, str]]] = {}  # in connection order, as the store lists them
    accounts = sorted(unlisted)
    for i in range(0, len(accounts), _CHUNK):
        found_rows = s.execute(
            select(ConnectionRow.account_id, ConnectionRow.id, ConnectionRow.from_address)
            .where(ConnectionRow.account_id.in_(accounts[i : i + _CHUNK]))
            .order_by(ConnectionRow.id)
        ).tuples()
        for account_id, connection_id, address in found_rows:
            senders.setdefault(account_id, []).append((connection_id, address))
    found = []
    for account_id, connections in senders.items():
        active = unlisted[account_id]
        live = next((a for c, a in connections if c == active), None)
        if sending_domain_of(live, [a for c, a in connections if c != active]) in domains:
            found.append(account_id)
    return found


def mark_stale_in(
    s: Session, *, account_ids: Iterable[int] = (), domains: Iterable[str] = ()
) -> int:
    """`SupportQueue.mark_stale` inside the write transaction `s` (the store's own writes: a test
    recorded, a connection changed), so the mark commits with the change or not at all."""
    marked = 0
    ids, names = sorted(set(account_ids)), sorted({d.strip().lower() for d in domains})
    for column, values in ((QueueRow.account_id, ids), (QueueRow.domain, names)):
        for i in range(0, len(values), _CHUNK):
            done = s.execute(
                update(QueueRow).where(column.in_(values[i : i + _CHUNK])).values(stale=True)
            )
            marked += int(getattr(done, "rowcount", 0) or 0)
    return marked


def _entry(row: QueueRow) -> QueueEntry:
    return QueueEntry(
        account_id=row.account_id,
        account_name=row.account_name,
        plan=Plan(row.plan),
        provider=row.provider,
        domain=row.domain,
        score=row.score,
        messages=row.messages,
        troubles=tuple(Trouble.from_dict(t) for t in row.troubles),
        line=row.line,
        stale=row.stale,
        refreshed_at=row.refreshed_at,
    )
