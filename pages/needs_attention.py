"""Needs attention: every account in trouble, ranked, one plain line why, each linking to its
Overview; the alerts, active and resolved; the alert rules and where alerts go.

It reads the stored support queue (admin.queue), so it answers at once for thousands of accounts;
refreshing the accounts that changed (a test, an import) diagnoses them again (admin.queue_refresh).
"""

from __future__ import annotations

import streamlit as st

from admin import AdminError, Permission, Plan, TroubleKind
from desk.configuration import app_config
from desk.markdown import md, plain, table, text
from desk.queue_views import (
    QUEUE_COLUMNS,
    alerts_frame,
    kind_chart,
    note_new_reports,
    open_overview,
    queue_frame,
    refresh_changed,
    threshold_label,
)
from desk.resources import store_or_stop
from desk.routing import through_the_router
from diagnostics.smtp import Security, SmtpSettings

through_the_router()  # before anything is drawn: see desk/routing.py

st.title("Needs attention")
st.caption(
    "Which accounts need help today, the worst first, with one line saying why. Open an "
    "account's Overview for what to change."
)

store = store_or_stop()
user = store.principal
may_refresh = user.can(Permission.VIEW_CONNECTIONS)
may_edit = user.can(Permission.EDIT_ALERTS)
note_new_reports(store)  # reports that came in by any way since the last look
counts = store.queue.counts()

# -- Refresh what changed ---------------------------------------------------------------------
changed = counts["stale"] + counts["missing"]
left, middle, right = st.columns(3)
left.metric("Need attention", md("{n:,}", n=counts["attention"]))
middle.metric("Accounts checked", md("{n:,}", n=counts["accounts"]))
right.metric("Changed since their check", md("{n:,}", n=changed))
if changed and may_refresh:
    if st.button(
        md("Check the {n:,} changed accounts again", n=changed),
        icon=":material/refresh:",
        help="Diagnoses again the accounts tested, changed or with new reports since their check.",
    ):
        bar = st.progress(0.0, text="Checking…")
        refresh_changed(
            store,
            lambda done, total: bar.progress(
                done / total, text=md("Checked {done:,} of {total:,}", done=done, total=total)
            ),
        )
        st.rerun()
elif changed:
    st.caption("Some accounts changed since their check; support staff and admins can check them.")

# -- Filters and the queue --------------------------------------------------------------------
plans, providers_present = store.queue.facets()
one, two, three = st.columns(3)
plan = one.selectbox(
    "Plan",
    [None, *plans],
    format_func=lambda p: "Every plan" if p is None else Plan(p).display_name,
)
kind = two.selectbox(
    "Problem",
    [None, *TroubleKind],
    format_func=lambda k: "Every problem" if k is None else k.label,
)
provider = three.selectbox(
    "Provider",
    [None, "", *providers_present],
    format_func=lambda p: (
        "Every provider" if p is None else "Managed or unknown" if p == "" else plain(p)
    ),
)
entries = store.queue.entries(plan=plan, kind=kind, provider=provider)

if not entries:
    st.success("No account needs attention.", icon=":material/check_circle:")
else:
    st.altair_chart(kind_chart(entries), width="stretch")
    st.caption(
        md(
            "{n:,} accounts, the worst first. Pick a row to open that account's Overview.",
            n=len(entries),
        )
    )
    picked = st.dataframe(
        table(queue_frame(entries)),
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="needs_attention_queue",
        column_order=QUEUE_COLUMNS,
        column_config={
            "account": "Account",
            "overview": st.column_config.LinkColumn("Open", display_text="Overview"),
            "plan": "Plan",
            "provider": "Provider",
            "problems": "Problems",
            "why": st.column_config.TextColumn("Why", width="large"),
            "messages": st.column_config.NumberColumn("Messages failing", format="%d"),
            "checked": st.column_config.DatetimeColumn("Checked", format="YYYY-MM-DD HH:mm"),
            "changed": "Changed",
        },
    )
    rows = picked.selection.rows if picked is not None else []
    if rows:
        open_overview(entries[rows[0]].account_id)

# -- Alerts -----------------------------------------------------------------------------------
st.subheader("Alerts")
history = store.alerts.history()
active_tab, all_tab = st.tabs(
    [
        md("Active ({n:,})", n=sum(1 for r in history if r.active)),
        md("History ({n:,})", n=len(history)),
    ]
)
alert_columns = {
    "account": "Account",
    "overview": st.column_config.LinkColumn("Open", display_text="Overview"),
    "problem": "Problem",
    "state": "State",
    "why": st.column_config.TextColumn("Why", width="large"),
    "first_seen": st.column_config.DatetimeColumn("First seen", format="YYYY-MM-DD HH:mm"),
    "last_seen": st.column_config.DatetimeColumn("Last seen", format="YYYY-MM-DD HH:mm"),
    "resolved_at": st.column_config.DatetimeColumn("Resolved", format="YYYY-MM-DD HH:mm"),
    "notices": "Notices",
}
with active_tab:
    active = [r for r in history if r.active]
    if active:
        frame = alerts_frame(active).drop(columns=["resolved_at", "state"])
        st.dataframe(table(frame), hide_index=True, width="stretch", column_config=alert_columns)
    else:
        st.caption("No active alert.")
with all_tab:
    if history:
        st.dataframe(
            table(alerts_frame(history)),
            hide_index=True,
            width="stretch",
            column_config=alert_columns,
        )
    else:
        st.caption("No alert yet. `python -m admin alerts run`, from cron, opens and sends them.")

if may_edit and st.button("Send due alerts now", icon=":material/notifications:"):
    config = app_config()
    cafile = str(config.smtp.cafile) if config.smtp.cafile else None
    with st.spinner("Sending…"):
        done = store.alerts.run(timeout=config.smtp.timeout, cafile=cafile)
    st.info(text(done.summary()), icon=":material/notifications:")

# -- Rules ------------------------------------------------------------------------------------
with st.expander("Alert rules"):
    rules = store.alerts.rules()
    for rule in rules.values():
        limits = ", ".join(f"{threshold_label(n)}: {v:g}" for n, v in rule.thresholds.items())
        st.markdown(
            md(
                "**{label}**: {state}{limits}",
                label=rule.kind.label,
                state="alerts on" if rule.enabled else "alerts off",
                limits=md(" · {limits}", limits=limits) if limits else "",
            )
        )
    if may_edit:
        chosen = st.selectbox("Rule", list(TroubleKind), format_func=lambda k: k.label)
        current = rules[chosen]
        with st.form("alert_rule"):
            enabled = st.checkbox("Send alerts for it", value=current.enabled)
            values = {
                name: st.number_input(
                    threshold_label(name),
                    min_value=0.0,
                    value=float(value),
                    key=f"threshold_{chosen.value}_{name}",
                )
                for name, value in current.thresholds.items()
            }
            if st.form_submit_button("Save the rule"):
                try:
                    store.alerts.set_rule(chosen, enabled=enabled, thresholds=values)
                except AdminError as exc:
                    st.error(text(exc))
                else:
                    st.success("Saved. The queue is checked again with it at the next refresh.")
    else:
        st.caption("Only admins change the rules.")

# -- Where alerts go ----------------------------------------------------------------------------
if user.can(Permission.VIEW_CONNECTIONS):
    with st.expander("Where alerts go"):
        for channel in store.alerts.channels():
            st.markdown(
                md(
                    "**{name}**: {state}, secret {hint}{digest}",
                    name="E-mail" if channel.channel == "email" else "Webhook",
                    state="on" if channel.enabled else "off",
                    hint=channel.secret_hint,
                    digest=", with the daily digest" if channel.digest else "",
                )
            )
        if may_edit:
            mail, hook = st.tabs(["E-mail", "Webhook"])
            with mail, st.form("alert_email"):
                host = st.text_input("SMTP host")
                port = st.number_input("Port", min_value=1, max_value=65535, value=587)
                security = st.selectbox("Security", [s.value for s in Security])
                username = st.text_input("User name")
                password = st.text_input(
                    "Password", type="password", help="Left empty: the saved one is kept."
                )
                sender = st.text_input("From address")
                recipients = st.text_input("Send to (comma-separated)")
                digest = st.checkbox("Also a daily digest", key="mail_digest")
                if st.form_submit_button("Save the e-mail settings"):
                    try:
                        store.alerts.save_email_channel(
                            SmtpSettings(
                                host,
                                int(port),
                                Security(security),
                                username=username,
                                password=password,
                                from_address=sender,
                            ),
                            recipients.split(","),
                            digest=digest,
                        )
                    except (AdminError, ValueError) as exc:
                        st.error(text(exc))
                    else:
                        st.success("Saved.")
            with hook, st.form("alert_webhook"):
                url = st.text_input(
                    "Webhook address", type="password", help="Slack's, or any receiver's."
                )
                key = st.text_input(
                    "Signing key",
                    type="password",
                    help="Signs each request (HMAC-SHA256) for a receiver that checks it.",
                )
                digest = st.checkbox("Also a daily digest", key="hook_digest")
                if st.form_submit_button("Save the webhook"):
                    try:
                        store.alerts.save_webhook_channel(url, hmac_secret=key, digest=digest)
                    except AdminError as exc:
                        st.error(text(exc))
                    else:
                        st.success("Saved.")
