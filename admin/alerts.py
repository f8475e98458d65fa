"""Alerts (issue 16): the desk's rules, where notices go, each alert's life, and the run that sends.

    alerts = store.alerts                      # bound to the store's principal
    alerts.set_rule("dmarc_pass_falling", enabled=True, thresholds={"drop_points": 15})
    alerts.save_email_channel(SmtpSettings(...), ["support@example.com"], digest=True)
    alerts.save_webhook_channel("https://hooks.slack.com/services/...", hmac_secret="...")
    result = alerts.run()                      # python -m admin alerts run (cron, systemd timer)
    alerts.history()                           # active and resolved, first and last seen

The run reads the support queue's stored rows (admin.queue; refreshed from each account's
diagnosis), never the DMARC records. For each account and trouble kind whose rule is on:

- a trouble no active alert covers opens one, and queues one "opened" notice per enabled channel;
- an active alert whose trouble is gone is resolved, and a "resolved" notice goes to the channels
  that were told it opened; a rule switched off resolves its alerts without a notice;
- a channel with the daily digest gets one digest a UTC day, of the alerts active then.

Sent once: every notice is a row of the outbox (`alert_deliveries`) with a unique key (event,
alert, channel), written in the same transaction as the alert, so a second run, or two at once,
finds it there and queues nothing new. Not lost: a notice that fails (the SMTP server is down) stays
pending and is tried again by later runs after 1, 2, 4 and 8 minutes; after MAX_ATTEMPTS it is
shown as failed, with the reason. A run claims notices before sending them (pending -> sending, locked rows skipped), so two runs at
once never both send one; a run that dies mid-send leaves them "sending", and after CLAIM_SECONDS
another run sends them again (the one case where a notice may arrive twice). A flood (more than
ONE_BY_ONE due for a channel: the first run of a desk, an outage across hundreds of accounts) goes
GROUP notices to a message, each notice still counted and marked on its own.

Who: everyone who sees accounts sees the history and the rules; only admins change rules or
channels, and run the alerts (Permission.EDIT_ALERTS). The channels' secrets (the SMTP password,
the webhook URL and its HMAC key) are encrypted like every saved password (admin.secrets, moved by a
key rotation) and never shown back: a page gets a hint.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from admin import _alert_notices as notices
from admin import alert_rules
from admin._bound import BoundPart
from admin._transactions import Transactions
from admin.access import Actor, Permission, Principal
from admin.alert_delivery import DeliveryFailed, EmailChannel, Send, Sender, WebhookChannel, send
from admin.errors import AdminInputError, SecretKeyError
from admin.models import AlertChannelRow, AlertDeliveryRow, AlertRow, QueueRow
from admin.records import AuditAction
from admin.secrets import SecretBox
from admin.troubles import Rule, TroubleKind
from diagnostics.secret import Secret
from diagnostics.smtp.settings import Security, SmtpSettings

__all__ = [
    "MAX_ATTEMPTS",
    "AlertChannel",
    "AlertDesk",
    "AlertRecord",
    "AlertRun",
    "Delivery",
]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(minutes=1)
CLAIM_SECONDS = 300
# Up to ONE_BY_ONE notices due for a channel go one by one; more go GROUP to a message.
ONE_BY_ONE, GROUP = 10, 50
EMAIL, WEBHOOK = "email", "webhook"
OPENED, RESOLVED, DIGEST = "opened", "resolved", "digest"
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
_HISTORY = 500


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notice to one channel: `status` pending, sending, sent or failed."""

    channel: str
    event: str
    status: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class AlertRecord:
    id: int
    account_id: int
    account_name: str
    kind: TroubleKind
    line: str
    active: bool
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    deliveries: tuple[Delivery, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "account_id": self.account_id,
            "account": self.account_name,
            "kind": self.kind.value,
            "line": self.line,
            "active": self.active,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "deliveries": [
                {
                    "channel": d.channel,
                    "event": d.event,
                    "status": d.status,
                    "attempts": d.attempts,
                    "last_error": d.last_error,
                }
                for d in self.deliveries
            ],
        }


@dataclass(frozen=True, slots=True)
class AlertChannel:
    """A channel as a page may show it: public settings and a hint of the secret, never it."""

    channel: str
    settings: dict[str, Any]
    secret_hint: str
    enabled: bool
    digest: bool
    updated_at: datetime


@dataclass
class AlertRun:
    """What one run did: counts, and the reasons of this run's failed attempts."""

    opened: int = 0
    resolved: int = 0
    still_active: int = 0
    queued: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.opened} opened, {self.resolved} resolved, {self.still_active} still active; "
            f"notices: {self.sent} sent, {self.retrying} to try again, {self.failed} failed."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "opened": self.opened,
            "resolved": self.resolved,
            "still_active": self.still_active,
            "queued": self.queued,
            "sent": self.sent,
            "retrying": self.retrying,
            "failed": self.failed,
            "errors": list(self.errors),
        }


class AlertDesk(BoundPart):
    """Rules, channels, alerts and the run, over the store's transactions. Made by `Store.alerts`."""

    def __init__(
        self,
        tx: Transactions,
        *,
        box: SecretBox,
        require_key: Callable[[Session], None],
        bound: Principal | None,
    ) -> None:
        super().__init__(tx, bound=bound)
        self._box = box
        self._require_key = require_key

    # -- rules -------------------------------------------------------------------------------------

    def rules(self, *, actor: Actor = "system") -> dict[TroubleKind, Rule]:
        self._allow(actor, Permission.VIEW_ACCOUNTS)
        with self._tx.read() as s:
            return alert_rules.load(s)

    def set_rule(
        self,
        kind: TroubleKind | str,
        *,
        enabled: bool = True,
        thresholds: Mapping[str, object] | None = None,
        actor: Actor = "system",
    ) -> Rule:
        """Change one kind's rule (admins only). New thresholds change what counts as a trouble,
        so every queue row is marked for a refresh."""
        who = self._allow(actor, Permission.EDIT_ALERTS)
        chosen = alert_rules.parse_kind(kind)
        clean = alert_rules.checked_thresholds(chosen, thresholds or {})
        with self._tx.write() as s:
            before, after = alert_rules.save(
                s, chosen, enabled, clean, who=who.name, now=self._tx.now()
            )
            if dict(before.thresholds) != dict(after.thresholds):
                s.execute(update(QueueRow).values(stale=True))
            state = "on" if after.enabled else "off"
            self._tx.audit(
                s,
                who.name,
                AuditAction.ALERTS_CHANGED,
                f"Set the alert rule “{chosen.label}” {state}"
                + (f", thresholds {_thresholds_text(after)}." if after.thresholds else "."),
                before={"enabled": before.enabled, "thresholds": dict(before.thresholds)},
                after={"enabled": after.enabled, "thresholds": dict(after.thresholds)},
            )
        return after

    # -- channels ----------------------------------------------------------------------------------

    def channels(self, *, actor: Actor = "system") -> list[AlertChannel]:
        """Where alerts go, as a page may show it (hints only). Those who see SMTP connections."""
        self._allow(actor, Permission.VIEW_CONNECTIONS)
        with self._tx.read() as s:
            rows = s.scalars(select(AlertChannelRow).order_by(AlertChannelRow.channel))
            return [_channel_value(r) for r in rows]

    def save_email_channel(
        self,
        settings: SmtpSettings,
        recipients: Sequence[str],
        *,
        enabled: bool = True,
        digest: bool = False,
        actor: Actor = "system",
    ) -> AlertChannel:
        """Alerts by e-mail through `settings` (an SMTP connection the desk holds) to
        `recipients`. An empty password keeps the saved one."""
        if not isinstance(settings, SmtpSettings):
            raise AdminInputError("The alert e-mail needs SmtpSettings.")
        to = _recipients(recipients)
        sender = settings.from_address or settings.username
        if "@" not in sender:
            raise AdminInputError("The alert e-mail needs a From address.")
        public = {
            "host": settings.host,
            "port": settings.port,
            "security": settings.security.value,
            "username": settings.username,
            "from_address": sender,
            "recipients": list(to),
        }
        secret = {"password": settings.secret.reveal()} if settings.secret.reveal() else None
        hint = settings.secret.hint()
        return self._save_channel(EMAIL, public, secret, hint, enabled, digest, actor)

    def save_webhook_channel(
        self,
        url: Secret | str,
        *,
        hmac_secret: Secret | str | None = None,
        enabled: bool = True,
        digest: bool = False,
        actor: Actor = "system",
    ) -> AlertChannel:
        """Alerts by webhook: POST Slack-compatible JSON to `url`, signed with `hmac_secret`
        (admin._alert_notices). The URL is kept encrypted (a Slack URL is a credential)."""
        address = Secret(url).reveal().strip()
        parts = urlsplit(address)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise AdminInputError("The webhook needs an http:// or https:// address.")
        secret = {"url": address, "hmac": Secret(hmac_secret or "").reveal()}
        hint = f"{parts.scheme}://{parts.hostname}/…"
        public = {"signed": bool(secret["hmac"])}
        return self._save_channel(WEBHOOK, public, secret, hint, enabled, digest, actor)

    def _save_channel(
        self,
        channel: str,
        public: dict[str, Any],
        secret: dict[str, str] | None,
        hint: str,
        enabled: bool,
        digest: bool,
        actor: Actor,
    ) -> AlertChannel:
        who = self._allow(actor, Permission.EDIT_ALERTS)
        with self._tx.write() as s:
            row = s.get(AlertChannelRow, channel, with_for_update=True)
            if secret is not None:
                self._require_key(s)
            if row is None:
                if secret is None:
                    raise AdminInputError("The alert e-mail needs the SMTP password.")
                row = AlertChannelRow(channel=channel)
                s.add(row)
            before = dict(row.settings) if row.settings else None
            if secret is not None:
                row.password_encrypted = self._box.encrypt(json.dumps(secret))
                row.password_hint = hint
            row.settings = public
            row.enabled = bool(enabled)
            row.digest = bool(digest)
            row.updated_at = self._tx.now()
            self._tx.audit(
                s,
                who.name,
                AuditAction.ALERTS_CHANGED,
                f"Saved where alerts go by {channel}"
                + ("" if enabled else " (switched off)")
                + ("; with the daily digest." if digest else "."),
                before=before,
                after={**public, "secret": row.password_hint, "digest": row.digest},
            )
            s.flush()
            return _channel_value(row)

    # -- history -----------------------------------------------------------------------------------

    def history(
        self,
        *,
        active: bool | None = None,
        account_id: int | None = None,
        limit: int = _HISTORY,
        actor: Actor = "system",
    ) -> list[AlertRecord]:
        """Alerts, the active ones first, then the newest; each with its notices' state."""
        self._allow(actor, Permission.VIEW_ACCOUNTS)
        query = select(AlertRow).order_by(
            AlertRow.active.desc(), AlertRow.last_seen.desc(), AlertRow.id.desc()
        )
        if active is not None:
            query = query.where(AlertRow.active.is_(active))
        if account_id is not None:
            query = query.where(AlertRow.account_id == account_id)
        with self._tx.read() as s:
            rows = list(s.scalars(query.limit(max(1, min(limit, 10_000)))))
            ids = [r.id for r in rows]
            sent: dict[int, list[Delivery]] = {}
            for i in range(0, len(ids), 500):
                found = s.scalars(
                    select(AlertDeliveryRow)
                    .where(AlertDeliveryRow.alert_id.in_(ids[i : i + 500]))
                    .order_by(AlertDeliveryRow.id)
                )
                for d in found:
                    sent.setdefault(d.alert_id or 0, []).append(_delivery(d))
            return [_record(r, sent.get(r.id, [])) for r in rows]

    def digests(self, *, limit: int = 30, actor: Actor = "system") -> list[Delivery]:
        self._allow(actor, Permission.VIEW_ACCOUNTS)
        with self._tx.read() as s:
            rows = s.scalars(
                select(AlertDeliveryRow)
                .where(AlertDeliveryRow.event == DIGEST)
                .order_by(AlertDeliveryRow.id.desc())
                .limit(limit)
            )
            return [_delivery(d) for d in rows]

    # -- the run -----------------------------------------------------------------------------------

    def run(
        self,
        *,
        now: datetime | None = None,
        account_ids: Iterable[int] | None = None,
        send_with: Send = send,
        timeout: float = 10.0,
        cafile: str | None = None,
        actor: Actor = "system",
    ) -> AlertRun:
        """Open, update and resolve alerts from the stored queue (all accounts, or `account_ids`:
        after one account's refresh), queue their notices and the digest, then send what is due.
        `timeout` and `cafile`: the SMTP test's (DESK_SMTP_TIMEOUT, DESK_SMTP_CAFILE)."""
        self._allow(actor, Permission.EDIT_ALERTS)
        moment = now or self._tx.now()
        ids = None if account_ids is None else sorted(set(account_ids))
        result = self._open_and_resolve(moment, ids)
        self._deliver(moment, send_with, timeout, cafile, result)
        return result

    def evaluate(
        self, account_ids: Iterable[int], *, now: datetime | None = None, actor: Actor = "system"
    ) -> AlertRun:
        """Open, update and resolve the alerts of `account_ids` from their queue rows, and queue
        their notices, without sending: what follows a refresh after a test or an import (the
        issue's "evaluated after each import and each test"), so a page never waits on an SMTP
        server or a webhook. The next `run` (cron, the page's button) sends what is due. Those who
        may refresh the queue (who see connections) may evaluate it."""
        self._allow(actor, Permission.VIEW_CONNECTIONS)
        return self._open_and_resolve(now or self._tx.now(), sorted(set(account_ids)))

    def _open_and_resolve(self, moment: datetime, ids: list[int] | None) -> AlertRun:
        result = AlertRun()
        with self._tx.write() as s:
            channels = {c.channel: c for c in s.scalars(select(AlertChannelRow)) if c.enabled}
            self._evaluate(s, moment, ids, sorted(channels), result)
            if ids is None:
                self._queue_digests(s, moment, [c for c in channels.values() if c.digest], result)
        return result

    def _evaluate(
        self,
        s: Session,
        now: datetime,
        ids: list[int] | None,
        channels: list[str],
        result: AlertRun,
    ) -> None:
        rules = alert_rules.load(s)
        current: dict[tuple[int, str], tuple[str, str]] = {}
        rows = select(QueueRow.account_id, QueueRow.account_name, QueueRow.troubles).where(
            QueueRow.score > 0
        )
        active_q = select(AlertRow).where(AlertRow.active.is_(True))
        if ids is not None:
            rows = rows.where(QueueRow.account_id.in_(ids))
            active_q = active_q.where(AlertRow.account_id.in_(ids))
        for account_id, name, found in s.execute(rows):
            for trouble in found:
                code = str(trouble["kind"])
                known = _kind(code)
                if known is not None and rules[known].enabled:
                    current[(account_id, code)] = (name, str(trouble["line"]))
        active = {(a.account_id, a.kind): a for a in s.scalars(active_q.with_for_update())}
        for key, alert in active.items():
            if key in current:
                alert.account_name, alert.line = current[key]
                alert.last_seen = now
                result.still_active += 1
                continue
            alert.active = False
            alert.resolved_at = now
            result.resolved += 1
            was = _kind(alert.kind)
            if was is not None and rules[was].enabled:
                subject, body = notices.resolved(_facts(alert), now)
                told = s.scalars(
                    select(AlertDeliveryRow.channel).where(
                        AlertDeliveryRow.alert_id == alert.id, AlertDeliveryRow.event == OPENED
                    )
                )
                for channel in told:
                    self._queue(s, alert.id, RESOLVED, channel, subject, body, now, result)
        for key, (name, line) in current.items():
            if key in active:
                continue
            alert = AlertRow(
                account_id=key[0],
                account_name=name,
                kind=key[1],
                line=line,
                active=True,
                first_seen=now,
                last_seen=now,
                resolved_at=None,
            )
            s.add(alert)
            s.flush()
            result.opened += 1
            subject, body = notices.opened(_facts(alert))
            for channel in channels:
                self._queue(s, alert.id, OPENED, channel, subject, body, now, result)

    def _queue_digests(
        self, s: Session, now: datetime, channels: list[AlertChannelRow], result: AlertRun
    ) -> None:
        if not channels:
            return
        day = f"{now:%Y-%m-%d}"
        facts = [_facts(a) for a in s.scalars(select(AlertRow).where(AlertRow.active.is_(True)))]
        subject, body = notices.digest(day, facts)
        for channel in channels:
            key = f"{DIGEST}:{day}:{channel.channel}"
            if s.scalar(select(AlertDeliveryRow.id).where(AlertDeliveryRow.dedupe_key == key)):
                continue
            self._queue(s, None, DIGEST, channel.channel, subject, body, now, result, key=key)

    def _queue(
        self,
        s: Session,
        alert_id: int | None,
        event: str,
        channel: str,
        subject: str,
        body: str,
        now: datetime,
        result: AlertRun,
        *,
        key: str | None = None,
    ) -> None:
        s.add(
            AlertDeliveryRow(
                alert_id=alert_id,
                event=event,
                channel=channel,
                dedupe_key=key or f"{event}:{alert_id}:{channel}",
                subject=subject,
                body=body,
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                last_error=None,
                created_at=now,
                sent_at=None,
            )
        )
        result.queued += 1

    def _deliver(
        self,
        now: datetime,
        send_with: Send,
        timeout: float,
        cafile: str | None,
        result: AlertRun,
    ) -> None:
        with self._tx.read() as s:
            due = list(
                s.execute(
                    select(AlertDeliveryRow.id, AlertDeliveryRow.channel)
                    .where(
                        # Pending, or "sending" by a run that died and whose claim ran out.
                        AlertDeliveryRow.status.in_((PENDING, SENDING)),
                        AlertDeliveryRow.next_attempt_at <= now,
                    )
                    .order_by(AlertDeliveryRow.id)
                )
            )
            rows = {c.channel: c for c in s.scalars(select(AlertChannelRow))}
        by_channel: dict[str, list[int]] = {}
        for delivery_id, channel in due:
            by_channel.setdefault(channel, []).append(delivery_id)
        for channel, ids in by_channel.items():
            sender = self._sender(rows.get(channel), timeout, cafile, result)
            if sender is None:
                continue  # switched off or unreadable since: they wait, pending
            # A few notices go one by one; a flood (the first run of a desk, an outage that
            # touched hundreds of accounts) in messages of GROUP notices: a receiver (Slack
            # takes about one message a second) and a person can take that.
            size = 1 if len(ids) <= ONE_BY_ONE else GROUP
            for start in range(0, len(ids), size):
                claimed = self._claim(ids[start : start + size], now)
                if not claimed:
                    continue  # another run has them
                subject, body, event = (
                    claimed[0][1:] if len(claimed) == 1 else notices.grouped(claimed)
                )
                try:
                    send_with(sender, subject, body, event, now)
                except DeliveryFailed as exc:
                    self._failed([c[0] for c in claimed], now, str(exc), channel, result)
                else:
                    self._sent([c[0] for c in claimed], now, result)

    def _sender(
        self, row: AlertChannelRow | None, timeout: float, cafile: str | None, result: AlertRun
    ) -> Sender | None:
        if row is None or not row.enabled:
            return None
        try:
            secret = json.loads(self._box.decrypt(row.password_encrypted).reveal())
        except SecretKeyError as exc:
            result.errors.append(f"{row.channel}: {exc}")
            return None
        if row.channel == WEBHOOK:
            return WebhookChannel(Secret(secret["url"]), Secret(secret.get("hmac", "")), timeout)
        public = row.settings
        settings = SmtpSettings(
            public["host"],
            int(public["port"]),
            Security(public["security"]),
            username=public.get("username", ""),
            password=secret.get("password", ""),
            from_address=public.get("from_address", ""),
        )
        return EmailChannel(settings, tuple(public["recipients"]), timeout, cafile)

    def _claim(self, ids: list[int], now: datetime) -> list[tuple[int, str, str, str]]:
        """Take the due ones of `ids` for this run (pending -> sending, until the claim runs out):
        (id, subject, body, event) of each taken; another run's are left to it."""
        lease = now + timedelta(seconds=CLAIM_SECONDS)
        mine = and_(
            AlertDeliveryRow.id.in_(ids),
            AlertDeliveryRow.status.in_((PENDING, SENDING)),
            AlertDeliveryRow.next_attempt_at <= now,
        )
        with self._tx.write() as s:
            taken = list(
                s.execute(
                    select(
                        AlertDeliveryRow.id,
                        AlertDeliveryRow.subject,
                        AlertDeliveryRow.body,
                        AlertDeliveryRow.event,
                    )
                    .where(mine)
                    .order_by(AlertDeliveryRow.id)
                    .with_for_update(skip_locked=True)
                )
            )
            if taken:
                s.execute(
                    update(AlertDeliveryRow)
                    .where(AlertDeliveryRow.id.in_([t[0] for t in taken]))
                    .values(status=SENDING, next_attempt_at=lease)
                )
        return [(int(i), str(subject), str(body), str(event)) for i, subject, body, event in taken]

    def _sent(self, ids: list[int], now: datetime, result: AlertRun) -> None:
        with self._tx.write() as s:
            s.execute(
                update(AlertDeliveryRow)
                .where(AlertDeliveryRow.id.in_(ids))
                .values(
                    status=SENT,
                    sent_at=now,
                    last_error=None,
                    attempts=AlertDeliveryRow.attempts + 1,
                )
            )
        result.sent += len(ids)

    def _failed(
        self, ids: list[int], now: datetime, why: str, channel: str, result: AlertRun
    ) -> None:
        with self._tx.write() as s:
            rows = s.scalars(
                select(AlertDeliveryRow).where(AlertDeliveryRow.id.in_(ids)).with_for_update()
            )
            for row in rows:
                row.attempts += 1
                row.last_error = why
                if row.attempts >= MAX_ATTEMPTS:
                    row.status = FAILED
                    result.failed += 1
                else:
                    row.status = PENDING
                    row.next_attempt_at = now + FIRST_RETRY * 2 ** (row.attempts - 1)
                    result.retrying += 1
        result.errors.append(f"{channel}: {why}")
        log.warning("%d alert notices by %s not sent: %s", len(ids), channel, why)


def _recipients(recipients: Sequence[str]) -> tuple[str, ...]:
    if isinstance(recipients, str):
        recipients = recipients.replace(";", ",").split(",")
    found = tuple(dict.fromkeys(r.strip() for r in recipients if r and r.strip()))
    if not found:
        raise AdminInputError("The alert e-mail needs at least one recipient.")
    for address in found:
        local, at, domain = address.rpartition("@")
        if not at or not local or "." not in domain or any(c in address for c in " <>,\r\n"):
            raise AdminInputError(f"{address!r} is not an e-mail address.")
    return found


def _kind(code: str) -> TroubleKind | None:
    """The kind of a stored code; None for one a later version wrote."""
    try:
        return TroubleKind(code)
    except ValueError:
        return None


def _thresholds_text(rule: Rule) -> str:
    return ", ".join(f"{name} {value:g}" for name, value in rule.thresholds.items())


def _facts(alert: AlertRow) -> notices.AlertFacts:
    kind = TroubleKind(alert.kind)
    return notices.AlertFacts(alert.account_name, kind, alert.line, alert.first_seen)


def _channel_value(row: AlertChannelRow) -> AlertChannel:
    return AlertChannel(
        channel=row.channel,
        settings=dict(row.settings or {}),
        secret_hint=row.password_hint,
        enabled=row.enabled,
        digest=row.digest,
        updated_at=row.updated_at,
    )


def _delivery(row: AlertDeliveryRow) -> Delivery:
    return Delivery(row.channel, row.event, row.status, row.attempts, row.last_error, row.sent_at)


def _record(row: AlertRow, deliveries: list[Delivery]) -> AlertRecord:
    return AlertRecord(
        id=row.id,
        account_id=row.account_id,
        account_name=row.account_name,
        kind=TroubleKind(row.kind),
        line=row.line,
        active=row.active,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        resolved_at=row.resolved_at,
        deliveries=tuple(deliveries),
    )
