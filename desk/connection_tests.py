"""A test of a saved SMTP connection, run from a page: the Test mail page and the Overview's "Run
test" run the same probe with the same settings (DESK_SMTP_CAFILE, the app's resolver) and keep
the result in the account's history as the signed-in user, then refresh the account's row in the
support queue (desk.queue_upkeep)."""

from __future__ import annotations

from typing import Protocol

import streamlit as st

from admin import AdminError, ProbeRecord, Store
from desk.configuration import app_config
from desk.markdown import md, text
from desk.queue_upkeep import refresh_after_test
from desk.resources import app_resolver, current_actor
from diagnostics import DiagnosticsError
from diagnostics.smtp import probe


class SavedConnection(Protocol):
    """What the test needs of a saved connection (admin's Connection, or its diagnosis)."""

    @property
    def id(self) -> int: ...

    @property
    def label(self) -> str: ...


def run_probe(
    store: Store,
    account_id: int,
    conn: SavedConnection,
    *,
    send_to: str | None,
    timeout: float,
    tls_verify: bool = True,
    refresh_queue: bool = True,
) -> ProbeRecord | None:
    """Probe the saved connection, keep the result in the history, refresh the account's queue
    row (unless `refresh_queue` is False: a page that diagnoses the account again right after
    saves the row from that diagnosis) and return the record; None (with the reason shown) when
    the store or the probe refuses."""
    what = f"Sending a test message to {send_to}" if send_to else "Checking the connection"
    try:
        with st.status(
            md("{what} through “{label}”…", what=what, label=conn.label), expanded=False
        ) as status:
            settings = store.probe_settings(conn.id)
            cafile = app_config().smtp.cafile
            result = probe(
                settings,
                send_to=send_to,
                timeout=timeout,
                tls_verify=tls_verify,
                cafile=str(cafile) if cafile else None,
                resolver=app_resolver(),
                connection_label=conn.label,
            )
            status.update(
                label=md(
                    "{what}: {outcome} in {seconds:.1f} s.",
                    what=what,
                    outcome="passed" if result.ok else "failed",
                    seconds=result.duration,
                ),
                state="complete" if result.ok else "error",
            )
        record = store.record_probe(account_id, conn.id, result, actor=current_actor())
    except (AdminError, DiagnosticsError) as exc:
        st.error(text(exc), icon=":material/warning:")
        return None
    if refresh_queue:
        refresh_after_test(store, account_id)
    return record


__all__ = ["SavedConnection", "run_probe"]
