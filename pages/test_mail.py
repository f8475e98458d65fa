"""Test mail: check a saved SMTP connection (or send a real test message) and say what is wrong."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from admin import Account, AdminError, Connection, ProbeRecord
from desk.configuration import app_config
from desk.connection_tests import run_probe
from desk.markdown import code, data, joined, md, plain, table, text
from desk.resources import store_or_stop
from desk.routing import through_the_router
from desk.widgets import account_picker
from diagnostics import DiagnosticsError
from diagnostics.smtp import ProbeResult

# The configuration's DESK_SMTP_CAFILE trusts one more CA for every probe (a company's
# TLS-inspecting relay, or the test CA of the end-to-end tests); DESK_SMTP_TIMEOUT is the default
# time limit of one test.
MAX_TIMEOUT = 60
HISTORY = 50

through_the_router()  # before anything is drawn: see desk/routing.py

st.title("Test mail")
st.caption(
    "Connect to a saved SMTP connection as the platform would: check the connection and login, "
    "or send a real test message. The diagnosis says what is wrong and what to change."
)


def _default_timeout() -> int:
    # The configuration holds it between 1 and 60 seconds; the slider counts whole ones.
    return max(1, min(MAX_TIMEOUT, int(app_config().smtp.timeout)))


def pick_connection(account: Account, connections: list[Connection]) -> Connection:
    by_id = {c.id: c for c in connections}
    key = f"test_mail_connection_{account.id}"
    if st.session_state.get(key) not in by_id:
        active = account.route.connection_id
        st.session_state[key] = active if active in by_id else connections[0].id
    chosen = st.selectbox(
        "Connection",
        options=list(by_id),
        format_func=lambda i: plain(by_id[i].label) + (" (active)" if by_id[i].active else ""),
        key=key,
    )
    conn = by_id[chosen]
    st.caption(
        md(
            "{address!c} · security {security} · user {user!c} · password {hint} · from {sender!c}",
            address=f"{conn.host}:{conn.port}",
            security=conn.security.value,
            user=conn.username or "(none)",
            hint=conn.password_hint,
            sender=conn.from_address or "(not set)",
        )
    )
    return conn


def _result_of(record: ProbeRecord) -> ProbeResult | None:
    """The stored (redacted) result back as a ProbeResult; None for a record it cannot read."""
    try:
        return ProbeResult.from_dict(record.result)
    except (KeyError, TypeError, ValueError):
        return None


def diagnosis_card(record: ProbeRecord, result: ProbeResult | None) -> None:
    # The explanation, the fix and the refusals quote the provider's replies: shown as text.
    when = md(
        "{at:%Y-%m-%d %H:%M:%S} UTC · “{label}” · by {actor}",
        at=record.at,
        label=record.connection_label,
        actor=record.actor,
    )
    if result is None:
        show = st.success if record.ok else st.error
        show(
            md(
                "**{outcome}** at {stage}",
                outcome=record.outcome.replace("_", " "),
                stage=record.stage or "start",
            )
        )
        st.caption(when)
        return
    if result.ok:
        sent = ""
        if result.accepted_recipients:
            sent = md(
                " The test message was accepted for {recipients}.",
                recipients=", ".join(result.accepted_recipients),
            )
        st.success(
            md(
                "**It works.** {address} passed every step up to {stage} in {seconds:.1f} s.{sent}",
                address=f"{result.host}:{result.port}",
                stage=result.stage.value.replace("_", " "),
                seconds=result.duration,
                sent=sent,
            ),
            icon=":material/check_circle:",
        )
    else:
        symptom = result.symptom.value if result.symptom else record.outcome
        st.error(
            md(
                "**{symptom}** at {stage}\n\n{explanation}",
                symptom=symptom.replace("_", " "),
                stage=result.stage.value.replace("_", " "),
                explanation=result.explanation,
            ),
            icon=":material/error:",
        )
        if result.fix:
            st.info(md("**What to change:** {fix}", fix=result.fix), icon=":material/build:")
    if result.hints:
        hints = joined(code(h.value) for h in result.hints)
        st.caption(md("Provider hints: {hints}", hints=hints))
    if result.refused_recipients:
        refusals = [
            md("- {rcpt!c}: {reply}", rcpt=rcpt, reply=reply)
            for rcpt, reply in result.refused_recipients.items()
        ]
        st.warning(
            md("Refused recipients:\n\n{refusals}", refusals=joined(refusals, "\n")),
            icon=":material/mail:",
        )
    st.caption(when)


def evidence(record: ProbeRecord, result: ProbeResult | None) -> None:
    st.markdown("**Transcript**")
    st.code(data(record.transcript or "(nothing was exchanged)"), language=None)
    tls = result.tls if result is not None else None
    st.markdown("**TLS**")
    if tls is None or tls.version is None:
        st.caption("No TLS session was set up.")
    else:
        rows = {
            "version": tls.version,
            "cipher": tls.cipher or "",
            "certificate subject": tls.subject or "",
            "issuer": tls.issuer or "",
            "expires": f"{tls.not_after:%Y-%m-%d}" if tls.not_after else "",
            "names": ", ".join(tls.names),
            "verified": "yes" if tls.verified else "no (verification off or failed)",
        }
        st.dataframe(
            table(pd.DataFrame({"": list(rows), "value": list(rows.values())})),
            hide_index=True,
            width="stretch",
        )
    if result is not None and result.replies:
        with st.expander("Which command got which reply"):
            st.dataframe(
                table(pd.DataFrame([r.to_dict() for r in result.replies])),
                hide_index=True,
                width="stretch",
            )


def history(records: list[ProbeRecord]) -> None:
    st.subheader("History")
    if not records:
        st.caption("No tests yet for this account.")
        return
    shown = pd.DataFrame(
        [
            {
                "when": r.at,
                "connection": r.connection_label,
                "outcome": r.outcome,
                "stage": r.stage or "",
                "seconds": round(r.duration, 2) if r.duration is not None else None,
                "who": r.actor,
            }
            for r in records
        ]
    )
    st.dataframe(table(shown), hide_index=True, width="stretch")


store = store_or_stop()
account = account_picker(store)
try:
    connections = store.list_connections(account.id)
    if not connections:
        st.info(
            "This account has no SMTP connection to test: add one on the SMTP settings page.",
            icon=":material/cable:",
        )
        st.stop()
    conn = pick_connection(account, connections)

    with st.expander("Options"):
        timeout = st.slider(
            "Time limit (seconds)",
            min_value=1,
            max_value=MAX_TIMEOUT,
            value=_default_timeout(),
            help="A silent server costs at most this long.",
        )
        tls_verify = st.checkbox(
            "Verify the server's TLS certificate",
            value=True,
            help="Turn off only to see past a certificate problem; the platform always verifies.",
        )
    check_col, send_col = st.columns(2)
    check_col.markdown("**Connection and login**")
    check_col.caption("Connect, upgrade to TLS and log in, as the platform does; sends nothing.")
    check = check_col.button("Check connection", type="primary")
    send_to = send_col.text_input("Send a test message to", placeholder="you@example.com")
    send = send_col.button("Send test mail")

    view_key = f"test_mail_view_{account.id}"
    record = None
    if check:
        record = run_probe(
            store, account.id, conn, send_to=None, timeout=timeout, tls_verify=tls_verify
        )
    elif send:
        if not send_to.strip():
            st.warning("Enter the address to send the test message to.", icon=":material/mail:")
        else:
            record = run_probe(
                store,
                account.id,
                conn,
                send_to=send_to.strip(),
                timeout=timeout,
                tls_verify=tls_verify,
            )
    if record is not None:
        st.session_state[view_key] = record.id

    records = store.probe_history(account.id, limit=HISTORY)
    by_id = {r.id: r for r in records}
    if by_id:
        st.subheader("Diagnosis")
        if st.session_state.get(view_key) not in by_id:
            st.session_state[view_key] = records[0].id
        shown = by_id[
            st.selectbox(
                "Test",
                options=list(by_id),
                format_func=lambda i: plain(
                    f"{by_id[i].at:%Y-%m-%d %H:%M:%S} · {by_id[i].connection_label} · "
                    f"{by_id[i].outcome}"
                ),
                key=view_key,
            )
        ]
        result = _result_of(shown)
        diagnosis_card(shown, result)
        evidence(shown, result)
    history(records)
except (AdminError, DiagnosticsError) as exc:
    st.error(text(exc), icon=":material/warning:")
