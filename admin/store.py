"""The desk's store: accounts, their SMTP connections, outbound routing, the audit log, probe history.

    store = Store()                      # data/desk.sqlite, or Store(url)
    store = Store.from_config(config)    # the database, key and policies a DeskConfig names
    account = store.create_account("Bluebird Bakery", "nano")
    store.add_connection(account.id, SmtpSettings("smtp.sendgrid.net", 587, ...), label="SendGrid")
    store.outbound_route(account.id)     # Route(mode=custom, connection_id=1, reason="...")

Every write runs in one transaction that first locks the account's row (SELECT ... FOR UPDATE on
PostgreSQL, BEGIN IMMEDIATE on SQLite), so concurrent changes to one account queue up and the audit
log's before/after of each change is the state the previous change left. Every write takes `actor`
(who did it) and adds one audit entry; no entry ever holds a secret, only `SmtpSettings.public_dict()`.
The plan rules themselves live in admin.plans; the report mailbox (issue 15) in admin.intake,
reached as `store.intake`.

Configuration: `url`, else desk.sqlite in `data_dir` (data/ by default). The secret key: `secret_key`
else `key_file`, by default secret.key in `data_dir`, created on first run with mode 0600.
`Store.from_config(config)` opens what a DeskConfig (diagnostics.config) names: DATABASE_URL,
DESK_DATA_DIR, DESK_SECRET_KEY (or the page layer's Streamlit secret), DESK_SECRET_KEY_FILE, the
session lengths and the busy timeout; nothing here reads the environment. With a key other than the
saved passwords were encrypted with, the store still opens (`key_matches` is False, for a banner);
reading or saving a password then raises SecretKeyError with a plain message. `rotate_key` moves every
saved password to a new key at once (admin.rotation); a store still running with the old key then
refuses to save rather than mix two keys.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from admin import inputs, migrate, rotation
from admin._lookups import (
    get_account,
    get_connection,
    lock_account,
    lock_connection,
    newest_connection,
    route_of,
)
from admin._snapshots import (
    account_state,
    account_value,
    audit_value,
    connection_state,
    connection_value,
    probe_value,
)
from admin._transactions import Transactions
from admin.access import SYSTEM, Actor, Permission, Principal, resolve
from admin.alerts import AlertDesk
from admin.database import default_sqlite, display_url, make_engine, resolve_url
from admin.errors import AdminInputError, NotFound, SecretKeyError, StoreBusy, StoreUnavailable
from admin.intake import ReportIntake
from admin.models import AccountRow, AuditRow, ConnectionRow, MetaRow, ProbeRow, utcnow
from admin.passwords import Hasher
from admin.plans import (
    Plan,
    Route,
    RouteCause,
    check_managed_allowed,
)
from admin.probes import summarize
from admin.queue import SupportQueue, mark_stale_in
from admin.records import Account, AuditAction, AuditEntry, Connection, ProbeRecord
from admin.rotation import KEY_ID_META, KeyRotation
from admin.secrets import WRONG_KEY_MESSAGE, KeySource, SecretBox, load_key
from admin.signin import SessionPolicy, ThrottlePolicy
from admin.users import Users
from diagnostics.config import DeskConfig
from diagnostics.database import DEFAULT_DATA_DIR
from diagnostics.findings import Finding
from diagnostics.secret import Secret
from diagnostics.smtp.lint import lint
from diagnostics.smtp.settings import Security, SmtpSettings

log = logging.getLogger(__name__)

KEY_FILE_NAME = "secret.key"
_MAX_NAME = 200


class Store:
    """Open (and migrate) the database at `url`; see the module docstring. Thread-safe: each call
    uses its own session, so one Store may serve every page of an app."""

    def __init__(
        self,
        url: str | URL | None = None,
        *,
        secret_key: Secret | str | None = None,
        key_file: Path | None = None,
        data_dir: Path = DEFAULT_DATA_DIR,
        busy_seconds: float | None = None,
        echo: bool = False,
        password_hasher: Hasher | None = None,
        throttle: ThrottlePolicy | None = None,
        sessions: SessionPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._principal: Principal | None = None
        self._hasher = password_hasher or Hasher()
        self._throttle = throttle or ThrottlePolicy()
        self._sessions = sessions or SessionPolicy()
        self._url = resolve_url(url, data_dir=data_dir)
        self._embedded = default_sqlite(data_dir)
        loaded = load_key(secret_key, key_file=key_file or data_dir / KEY_FILE_NAME)
        self._box = SecretBox(loaded.key)
        self.key_source: KeySource = loaded.source
        self._engine: Engine = make_engine(self._url, echo=echo, busy_timeout=busy_seconds)
        self._tx = Transactions(self._engine, clock=clock)
        try:
            migrate.upgrade(self._engine)
            self.key_matches: bool = self._register_key()
        except StoreUnavailable as exc:  # a fault the engine names (admin.database)
            self._engine.dispose()
            why = (
                "it is busy; try again in a moment."
                if isinstance(exc, StoreBusy)
                else "it does not answer. Is the server running, and the address right?"
            )
            raise type(exc)(f"Cannot open the database at {self.url}: {why}") from None
        except SQLAlchemyError as exc:
            self._engine.dispose()
            cause: BaseException = getattr(exc, "orig", None) or exc
            raise StoreUnavailable(
                f"Cannot open the database at {self.url}: {type(cause).__name__}: "
                f"{_first_line(cause)}"
            ) from None
        if not self.key_matches:
            log.warning("the secret key does not match the key of the saved connections")

    @classmethod
    def from_config(
        cls,
        config: DeskConfig,
        *,
        secret_key: Secret | str | None = None,
        echo: bool = False,
        password_hasher: Hasher | None = None,
        throttle: ThrottlePolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> Store:
        """The store of the database `config` names, with its key (`secret_key`, else the
        configuration's DESK_SECRET_KEY, else its key file), session lengths and busy timeout."""
        database = config.database
        store = cls(
            database.url,
            secret_key=secret_key or config.secret_key,
            key_file=database.key_path,
            data_dir=database.data_dir,
            busy_seconds=database.busy_seconds,
            echo=echo,
            password_hasher=password_hasher,
            throttle=throttle,
            sessions=SessionPolicy.from_config(config.auth),
            clock=clock,
        )
        if not secret_key and config.secret_key:
            store.key_source = KeySource.ENVIRONMENT
        return store

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The database URL with any password masked."""
        return display_url(self._url)

    @property
    def is_embedded_default(self) -> bool:
        """True on the embedded SQLite file in the data folder: where the app loads sample data."""
        return self.backend == "sqlite" and self._url.database == str(self._embedded)

    @property
    def backend(self) -> str:
        return self._url.get_backend_name()

    def __repr__(self) -> str:
        if self._principal is not None:
            return f"Store({self.url!r}, as {self._principal.name!r})"
        return f"Store({self.url!r})"

    def close(self) -> None:
        if self._principal is None:  # a user's view shares the engine of the store it came from
            self._engine.dispose()

    # -- who is acting -----------------------------------------------------------------------

    def as_user(self, principal: Principal) -> Store:
        """A view of this store that acts for `principal` in every call: the audit log names them,
        and whatever their role does not allow raises PermissionDenied. Cheap: it shares the
        engine, so a page makes one per run. Reads check the role too (an analyst cannot list
        connections), which is why pages use a view rather than passing `actor=` alone."""
        if not isinstance(principal, Principal):
            raise TypeError("as_user() takes an admin.Principal")
        view = copy.copy(self)
        view._principal = principal
        return view

    @property
    def principal(self) -> Principal:
        """Who this store acts for: the bound user, else the trusted local caller "system"."""
        return self._principal or SYSTEM

    @property
    def intake(self) -> ReportIntake:
        """The report mailbox's settings and runs (admin.intake), acting for this store's
        principal."""
        return ReportIntake(
            self._tx, box=self._box, require_key=self._require_key, bound=self._principal
        )

    @property
    def alerts(self) -> AlertDesk:
        """Alert rules, where alerts go, their history and the run (admin.alerts), acting for
        this store's principal."""
        return AlertDesk(
            self._tx, box=self._box, require_key=self._require_key, bound=self._principal
        )

    @property
    def queue(self) -> SupportQueue:
        """The support queue's stored rows (admin.queue), acting for this store's principal."""
        return SupportQueue(self._tx, bound=self._principal)

    @property
    def users(self) -> Users:
        """Local users, sign-in and sessions (admin.users), acting for this store's principal."""
        return Users(
            self._tx,
            hasher=self._hasher,
            throttle=self._throttle,
            sessions=self._sessions,
            bound=self._principal,
        )

    def acting_as(self, actor: Actor) -> Principal:
        """Who an action by `actor` runs as on this store (admin.access.resolve): the bound user,
        whatever name is passed; raises PermissionDenied for another user's Principal."""
        return resolve(actor, self._principal)

    def _allow(self, actor: Actor, permission: Permission) -> str:
        """The name the audit log records for `actor`, once its role is known to allow it."""
        who = resolve(actor, self._principal)
        who.require(permission)
        return who.name

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_revision(self) -> str | None:
        return migrate.current_revision(self._engine)

    # -- accounts --------------------------------------------------------------------------

    def create_account(self, name: str, plan: Plan | str, *, actor: Actor = "system") -> Account:
        name = inputs.clean_text(name, "account name")
        chosen = Plan.parse(plan)
        actor = self._allow(actor, Permission.EDIT_ACCOUNTS)
        with self._tx.write() as s:
            now = self._tx.now()
            row = AccountRow(
                name=name,
                plan=chosen.value,
                active_connection_id=None,
                route_cause=RouteCause.NEW_ACCOUNT.value,
                route_detail=None,
                created_at=now,
                updated_at=now,
            )
            s.add(row)
            s.flush()
            self._audit_route(
                s,
                actor,
                AuditAction.ACCOUNT_CREATED,
                row,
                f"Created account “{name}” on the {chosen.display_name} plan.",
                None,
            )
            return account_value(s, row)

    def list_accounts(self) -> list[Account]:
        self._allow("system", Permission.VIEW_ACCOUNTS)
        with self._tx.read() as s:
            found = s.scalars(select(AccountRow).order_by(AccountRow.name, AccountRow.id))
            return [account_value(s, row) for row in found]

    def get_account(self, account_id: int) -> Account:
        self._allow("system", Permission.VIEW_ACCOUNTS)
        with self._tx.read() as s:
            return account_value(s, get_account(s, account_id))

    def change_plan(self, account_id: int, plan: Plan | str, *, actor: Actor = "system") -> Account:
        """Move the account to `plan`. To Nano: an inactive connection takes over, else mail pauses.
        From Nano while paused: managed sending starts."""
        chosen = Plan.parse(plan)
        actor = self._allow(actor, Permission.EDIT_ACCOUNTS)
        with self._tx.write() as s:
            row = lock_account(s, account_id)
            old_plan = Plan(row.plan)
            if chosen is old_plan:
                return account_value(s, row)
            before = account_state(row, route_of(s, row))
            row.plan = chosen.value
            if row.active_connection_id is None:
                if not chosen.has_managed_sending:
                    newest = newest_connection(s, row.id)
                    row.active_connection_id = newest.id if newest else None
                row.route_cause = RouteCause.PLAN_CHANGED.value
                row.route_detail = None
            row.updated_at = self._tx.now()
            self._audit_route(
                s,
                actor,
                AuditAction.PLAN_CHANGED,
                row,
                f"Changed the plan of “{row.name}” from {old_plan.display_name} to "
                f"{chosen.display_name}.",
                before,
            )
            return account_value(s, row)

    # -- connections -----------------------------------------------------------------------

    def add_connection(
        self,
        account_id: int,
        settings: SmtpSettings,
        label: str = "",
        *,
        activate: bool | None = None,
        actor: Actor = "system",
    ) -> Connection:
        """Save a new connection. `activate=None` (the default) makes it the active one when the
        account has no active connection, as saving "Bring your own SMTP" does on the platform;
        True always does; False never does, except on Nano with none active (mail would stay paused).
        """
        settings = inputs.settings(settings)
        label = (
            inputs.clean_text(label, "label", required=False) or f"{settings.host}:{settings.port}"
        )
        actor = self._allow(actor, Permission.EDIT_CONNECTIONS)
        with self._tx.write() as s:
            account = lock_account(s, account_id)
            self._require_key(s)
            before = account_state(account, route_of(s, account))
            now = self._tx.now()
            row = ConnectionRow(
                account_id=account.id,
                label=label,
                host=settings.host,
                port=settings.port,
                security=settings.security.value,
                username=settings.username,
                from_address=settings.from_address,
                password_encrypted=self._box.encrypt(settings.secret),
                password_hint=settings.secret.hint(),
                created_at=now,
                updated_at=now,
            )
            s.add(row)
            s.flush()
            nano_paused = account.active_connection_id is None and Plan(account.plan) is Plan.NANO
            if (
                activate
                or nano_paused
                or (activate is None and account.active_connection_id is None)
            ):
                self._reroute(account, row.id, RouteCause.CONNECTION_ACTIVATED, now=now)
            self._audit_route(
                s,
                actor,
                AuditAction.CONNECTION_ADDED,
                account,
                f"Added the SMTP connection “{label}” ({settings.host}:{settings.port}) to "
                f"“{account.name}”.",
                before,
                connection=row,
            )
            return connection_value(row, account)

    def update_connection(
        self,
        connection_id: int,
        settings: SmtpSettings | None = None,
        *,
        label: str | None = None,
        keep_password_if_empty: bool = True,
        actor: Actor = "system",
    ) -> Connection:
        """Change a connection's settings and/or label. An empty password in `settings` keeps the
        saved one (a form whose password field was left blank), unless keep_password_if_empty=False."""
        new_settings = inputs.settings(settings) if settings is not None else None
        new_label = inputs.clean_text(label, "label") if label is not None else None
        actor = self._allow(actor, Permission.EDIT_CONNECTIONS)
        with self._tx.write() as s:
            account, row = lock_connection(s, connection_id)
            before = connection_state(row, account)
            password_changed = False
            if new_settings is not None:
                row.host = new_settings.host
                row.port = new_settings.port
                row.security = new_settings.security.value
                row.username = new_settings.username
                row.from_address = new_settings.from_address
                if new_settings.secret or not keep_password_if_empty:
                    self._require_key(s)
                    password_changed = self._password_differs(row, new_settings.secret)
                    row.password_encrypted = self._box.encrypt(new_settings.secret)
                    row.password_hint = new_settings.secret.hint()
            if new_label is not None:
                row.label = new_label
            after = connection_state(row, account)
            changed = sorted(k for k in after if before.get(k) != after[k])
            if password_changed and "password" not in changed:
                changed.append("password")
            if not changed:
                return connection_value(row, account)
            row.updated_at = self._tx.now()
            after["password_changed"] = password_changed
            self._tx.audit(
                s,
                actor,
                AuditAction.CONNECTION_UPDATED,
                f"Changed {', '.join(changed)} of the SMTP connection “{row.label}” of "
                f"“{account.name}”.",
                account_id=account.id,
                connection_id=row.id,
                before=before,
                after=after,
            )
            mark_stale_in(s, account_ids=[account.id])  # its lint may have changed
            return connection_value(row, account)

    def delete_connection(self, connection_id: int, *, actor: Actor = "system") -> Route:
        """Delete a connection. If it was the active one, the newest remaining connection takes over;
        if it was the last one, a paid plan switches to managed sending and Nano pauses."""
        actor = self._allow(actor, Permission.DELETE_DATA)
        with self._tx.write() as s:
            account, row = lock_connection(s, connection_id)
            before = account_state(account, route_of(s, account))
            before["connection"] = connection_state(row, account)
            label, was_active = row.label, account.active_connection_id == row.id
            s.delete(row)
            s.flush()
            if was_active:
                newest = newest_connection(s, account.id)
                cause = (
                    RouteCause.ACTIVE_CONNECTION_DELETED
                    if newest
                    else RouteCause.LAST_CONNECTION_DELETED
                )
                self._reroute(account, newest.id if newest else None, cause, detail=label)
            else:
                account.updated_at = self._tx.now()
            return self._audit_route(
                s,
                actor,
                AuditAction.CONNECTION_DELETED,
                account,
                f"Deleted the SMTP connection “{label}” of “{account.name}”.",
                before,
                connection_id=connection_id,
            )

    def use_managed(self, account_id: int, *, actor: Actor = "system") -> Route:
        """Send through managed TrekMail SMTP. Raises PlanRuleError on Nano, which has none."""
        actor = self._allow(actor, Permission.EDIT_CONNECTIONS)
        with self._tx.write() as s:
            account = lock_account(s, account_id)
            check_managed_allowed(Plan(account.plan))
            if account.active_connection_id is None:
                return route_of(s, account)
            before = account_state(account, route_of(s, account))
            self._reroute(account, None, RouteCause.MANAGED_CHOSEN)
            return self._audit_route(
                s,
                actor,
                AuditAction.MANAGED_CHOSEN,
                account,
                f"Switched “{account.name}” to managed sending.",
                before,
            )

    def activate(self, connection_id: int, *, actor: Actor = "system") -> Route:
        """Make this connection the one the account's webmail and API mail go through."""
        actor = self._allow(actor, Permission.EDIT_CONNECTIONS)
        with self._tx.write() as s:
            account, row = lock_connection(s, connection_id)
            if account.active_connection_id == row.id:
                return route_of(s, account)
            before = account_state(account, route_of(s, account))
            self._reroute(account, row.id, RouteCause.CONNECTION_ACTIVATED)
            return self._audit_route(
                s,
                actor,
                AuditAction.CONNECTION_ACTIVATED,
                account,
                f"Activated the SMTP connection “{row.label}” of “{account.name}”.",
                before,
                connection_id=row.id,
            )

    def outbound_route(self, account_id: int) -> Route:
        self._allow("system", Permission.VIEW_ACCOUNTS)
        with self._tx.read() as s:
            return route_of(s, get_account(s, account_id))

    def list_connections(self, account_id: int) -> list[Connection]:
        self._allow("system", Permission.VIEW_CONNECTIONS)
        with self._tx.read() as s:
            account = get_account(s, account_id)
            found = s.scalars(
                select(ConnectionRow)
                .where(ConnectionRow.account_id == account.id)
                .order_by(ConnectionRow.id)
            )
            return [connection_value(row, account) for row in found]

    def get_connection(self, connection_id: int) -> Connection:
        self._allow("system", Permission.VIEW_CONNECTIONS)
        with self._tx.read() as s:
            row = get_connection(s, connection_id)
            return connection_value(row, get_account(s, row.account_id))

    def connection_settings(self, connection_id: int) -> SmtpSettings:
        """The connection's settings with the decrypted password (a Secret): for the probe only.
        Raises SecretKeyError when the key is not the one the password was saved with. Admins only:
        support staff run tests through probe_settings(), which never hands the password to them."""
        self._allow("system", Permission.READ_SECRETS)
        return self._settings(connection_id)

    def probe_settings(self, connection_id: int, actor: Actor = "system") -> SmtpSettings:
        """The settings a probe needs, password included, for admins and support staff. The caller
        hands them to diagnostics.smtp.probe() and shows nothing of them but the connection's public
        fields (the password stays a Secret: no repr, str or format shows it)."""
        self._allow(actor, Permission.RUN_PROBES)
        return self._settings(connection_id)

    def connection_lint(self, connection_id: int) -> list[Finding]:
        """What the saved settings say before connecting (diagnostics.smtp.lint), password
        included (an IAM secret key saved as the SES password is found), for whoever may see the
        connection: the password is judged here and never handed out. With a key that cannot
        read it, the settings are judged without it and the findings that need it are left out."""
        self._allow("system", Permission.VIEW_CONNECTIONS)
        try:
            return lint(self._settings(connection_id))
        except SecretKeyError:
            conn = self.get_connection(connection_id)
            settings = SmtpSettings(
                conn.host,
                conn.port,
                conn.security,
                username=conn.username,
                password="",
                from_address=conn.from_address,
            )
            return [f for f in lint(settings) if f.code != "missing_credentials"]

    def _settings(self, connection_id: int) -> SmtpSettings:
        with self._tx.read() as s:
            row = get_connection(s, connection_id)
            return SmtpSettings(
                host=row.host,
                port=row.port,
                security=Security(row.security),
                username=row.username,
                password=self._box.decrypt(row.password_encrypted),
                from_address=row.from_address,
            )

    # -- audit and probe history -----------------------------------------------------------

    def audit_log(self, account_id: int | None = None, *, limit: int = 100) -> list[AuditEntry]:
        """The newest `limit` entries, newest first; of one account, or of all."""
        self._allow("system", Permission.VIEW_AUDIT)
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(inputs.limit(limit))
        if account_id is not None:
            query = query.where(AuditRow.account_id == account_id)
        with self._tx.read() as s:
            return [audit_value(r) for r in s.scalars(query)]

    def audit_event(
        self,
        action: AuditAction,
        summary: str,
        *,
        after: dict[str, Any] | None = None,
        actor: Actor = "system",
    ) -> AuditEntry:
        """Add one entry for something done outside this store that belongs in its log (a report
        import, admin.reports), or for a refusal. No permission is needed: the entry names who
        acted (the bound user on a user's view, so nobody writes in another's name), and refusals
        are recorded precisely for those who lack one. `summary` and `after` are shown to whoever
        may read the log: counts and names only, never a secret or a file's contents."""
        who = resolve(actor, self._principal)
        if not isinstance(summary, str) or not summary.strip():
            raise AdminInputError("An audit entry needs a summary.")
        with self._tx.write() as s:
            row = self._tx.audit(s, who.name, action, summary, after=after)
            s.flush()
            return audit_value(row)

    def record_probe(
        self,
        account_id: int,
        connection_id: int | None,
        result: Any,
        *,
        settings: SmtpSettings | None = None,
        actor: Actor = "system",
    ) -> ProbeRecord:
        """Keep one SMTP test. `result`: a ProbeResult, its `to_dict()`, or a mapping with ok,
        symptom (or outcome), stage, duration and transcript. `connection_id` None: settings tested
        before saving (pass them as `settings` so their password is redacted too)."""
        actor = self._allow(actor, Permission.RUN_PROBES)
        with self._tx.write() as s:
            account = get_account(s, account_id)
            label = "unsaved settings"
            secrets: list[tuple[str, Secret]] = []
            if settings is not None:
                secrets.append((settings.username, settings.secret))
            if connection_id is not None:
                row = get_connection(s, connection_id)
                if row.account_id != account.id:
                    raise NotFound(
                        f"Connection {connection_id} does not belong to account {account_id}."
                    )
                label = row.label
                # A password this key cannot read cannot have been used by the probe either.
                with suppress(SecretKeyError):
                    secrets.append((row.username, self._box.decrypt(row.password_encrypted)))
            summary = summarize(result, secrets)
            probe = ProbeRow(
                account_id=account.id,
                connection_id=connection_id,
                connection_label=label,
                at=self._tx.now(),
                actor=actor,
                outcome=summary.outcome,
                ok=summary.ok,
                stage=summary.stage,
                duration=summary.duration,
                transcript=summary.transcript,
                result=summary.result,
            )
            s.add(probe)
            s.flush()
            # The queue's row of the account is out of date now (its latest test changed).
            mark_stale_in(s, account_ids=[account.id])
            return probe_value(probe)

    def probe_history(
        self,
        account_id: int | None = None,
        *,
        connection_id: int | None = None,
        limit: int = 50,
    ) -> list[ProbeRecord]:
        """The newest `limit` tests, newest first; of one account and/or connection, or of all."""
        self._allow("system", Permission.VIEW_CONNECTIONS)
        query = select(ProbeRow).order_by(ProbeRow.id.desc()).limit(inputs.limit(limit))
        if account_id is not None:
            query = query.where(ProbeRow.account_id == account_id)
        if connection_id is not None:
            query = query.where(ProbeRow.connection_id == connection_id)
        with self._tx.read() as s:
            return [probe_value(r) for r in s.scalars(query)]

    # -- the audit of a routing change, locks and the key -------------------------------------

    def _reroute(
        self,
        account: AccountRow,
        connection_id: int | None,
        cause: RouteCause,
        *,
        detail: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Send the account's mail through `connection_id` (None: managed sending, or paused on
        Nano), for `cause`; `detail` names what the cause is about (a deleted connection's label)."""
        account.active_connection_id = connection_id
        account.route_cause = cause.value
        account.route_detail = detail
        account.updated_at = now or self._tx.now()

    def _audit_route(
        self,
        s: Session,
        actor: str,
        action: AuditAction,
        account: AccountRow,
        summary: str,
        before: dict[str, Any] | None,
        *,
        connection_id: int | None = None,
        connection: ConnectionRow | None = None,
    ) -> Route:
        """The audit entry of a change to an account (the changed rows already in `s`): `summary`
        followed by what the account's route is now, the state `before` and after. `connection`:
        a connection the change added, whose settings the entry keeps too (public fields only)."""
        route = route_of(s, account)
        after = account_state(account, route)
        # Every change to an account's plan, route or connections comes through here: its row
        # in the support queue is out of date.
        mark_stale_in(s, account_ids=[account.id])
        if connection is not None:
            after["connection"] = connection_state(connection, account)
            connection_id = connection.id
        self._tx.audit(
            s,
            actor,
            action,
            f"{summary} {route.reason}",
            account_id=account.id,
            connection_id=connection_id,
            before=before,
            after=after,
        )
        return route

    def _register_key(self) -> bool:
        """Remember which key encrypts this database's secrets; False if it is another key."""
        try:
            with self._tx.write() as s:
                if s.get(MetaRow, KEY_ID_META) is None:
                    s.add(MetaRow(key=KEY_ID_META, value=self._box.key_id))
        except IntegrityError:
            pass  # another process registered its key first; compare with that one below
        with self._tx.read() as s:
            row = s.get(MetaRow, KEY_ID_META)
            return row is not None and row.value == self._box.key_id

    def _require_key(self, s: Session) -> None:
        # Saving with another key would leave the database with passwords under two keys. Asked
        # inside the write (after the account's lock), so a rotation that committed meanwhile, by
        # another process, is seen too.
        row = s.get(MetaRow, KEY_ID_META, populate_existing=True)
        matches = row.value == self._box.key_id if row is not None else self.key_matches
        if not matches:
            raise SecretKeyError(WRONG_KEY_MESSAGE)

    def rotate_key(
        self, old_key: Secret | str, new_key: Secret | str, *, actor: Actor = "system"
    ) -> KeyRotation:
        """Re-encrypt every saved password from `old_key` to `new_key` in one transaction, audited
        (admin.rotation). Raises SecretKeyError, having changed nothing, when a password does not
        decrypt with the old key (or a key is unusable), AdminInputError when both are the same.
        Afterwards only a store opened with the new key reads the passwords."""
        self._allow(actor, Permission.READ_SECRETS)
        actor = self._allow(actor, Permission.EDIT_CONNECTIONS)
        old, new = SecretBox(old_key), SecretBox(new_key)
        if old.key_id == new.key_id:
            raise AdminInputError("The old and the new secret key are the same: nothing to rotate.")
        with self._tx.write() as s:
            done = rotation.rotate(s, old, new)
            self._tx.audit(
                s,
                actor,
                AuditAction.KEY_ROTATED,
                done.summary(),
                before={"key_id": old.key_id},
                after=done.audit_facts(),
            )
        self.key_matches = self._box.key_id == new.key_id
        return done

    def _password_differs(self, row: ConnectionRow, new: Secret) -> bool:
        try:
            return self._box.decrypt(row.password_encrypted) != new
        except SecretKeyError:
            return True

    def claim(self, key: str) -> bool:
        """Mark a one-time job (e.g. loading sample data) as done: True for the first caller only."""
        try:
            with self._tx.write() as s:
                if s.get(MetaRow, key) is not None:
                    return False
                s.add(MetaRow(key=key, value=self._tx.now().isoformat()))
            return True
        except IntegrityError:
            return False


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


__all__ = ["Store"]
