"""DMARC reports: upload what receivers send, then see a domain's volume, who sends for it, and how
each source fares with SPF, DKIM and DMARC, down to one report's records."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from admin import Permission, account_setup
from desk import report_views as views
from desk.column_labels import column_labels
from desk.configuration import app_config
from desk.labels import share_text
from desk.markdown import data, md, plain, text
from desk.queue_upkeep import refresh_after_import
from desk.report_layout import Explained, Section
from desk.report_mailbox import report_mailbox_section
from desk.report_tables import name_senders, records_csv, shown_name
from desk.resources import (
    app_resolver,
    current_actor,
    dns_settings,
    report_store,
    store_or_stop,
)
from desk.routing import through_the_router
from desk.uploads import import_uploads, too_many, upload_limits
from desk.widgets import account_picker, diagnosis_card, show_error
from diagnostics import DiagnosticsError
from diagnostics.dmarc import Category, ReportStore
from diagnostics.idn import with_unicode
from diagnostics.wording import plural

SUMMARY_KEY = "dmarc_import_summary"  # the last import's lines: file names and counts only
UPLOADER_KEY = "dmarc_uploader_round"  # a new key empties the uploader after an import

through_the_router()  # before anything is drawn: see desk/routing.py

st.title("DMARC reports")
st.caption(
    "Upload the aggregate, failure and TLS reports receivers send, then see for a domain who sends "
    "its mail and whether SPF, DKIM and DMARC pass."
)

try:
    store = report_store()
    key = views.store_key(store)  # results are shared between sessions until the store changes
    domains = views.domains(store, key)
except DiagnosticsError as exc:
    show_error(exc)
    st.stop()

# ---- import ----------------------------------------------------------------------------------

limits = upload_limits(app_config().reports)
# Analysts read reports; adding them is for admins and support staff (admin.access).
may_upload = current_actor().can(Permission.UPLOAD_REPORTS)
with st.expander("Import reports", icon=":material/upload_file:", expanded=domains.empty):
    round_no = st.session_state.get(UPLOADER_KEY, 0)
    uploads = st.file_uploader(
        "Report files",
        accept_multiple_files=True,
        key=f"dmarc_uploads_{round_no}",
        max_upload_size=limits.max_mb,
        disabled=not may_upload,
        help=md(
            "XML, gzip, zip, e-mails (.eml) or mbox files with reports attached, TLS reports "
            "(JSON). At most {files:,} files of {mb} MB each at once.",
            files=limits.max_files,
            mb=limits.max_mb,
        ),
    )
    refusal = too_many(len(uploads or []), limits)
    if refusal:
        st.warning(refusal, icon=":material/block:")
    if not may_upload:
        st.caption("Your role may read reports but not upload them.")
    if st.button("Import", type="primary", disabled=not uploads or bool(refusal) or not may_upload):
        bar = st.progress(0.0, text="Importing…")

        def moved(done: int, total: int, name: str) -> None:
            # The file's name is the sender's (an attachment's): shown as text.
            bar.progress(
                done / total,
                text=md("{done:,} of {total:,}: {name}", done=done, total=total, name=name),
            )

        try:
            since = store.report_mark()  # what the import adds comes after it
            summary = import_uploads(
                store,
                uploads or [],
                limits,
                admin_store=store_or_stop(),
                progress=moved,
                on_wait=lambda: bar.progress(
                    0.0, text="Another import is running on the desk; yours starts when it ends…"
                ),
            )
        except DiagnosticsError as exc:
            show_error(exc)
            st.stop()
        # The support queue's rows of the imported domains, checked again while the page waits.
        refresh_after_import(store_or_stop(), store, since)
        st.session_state[SUMMARY_KEY] = (summary.ok, summary.lines())
        st.session_state[UPLOADER_KEY] = round_no + 1
        st.rerun()

# Reports that arrive by themselves: the desk's report mailbox (its settings are admins').
with st.expander("Reports by mail", icon=":material/mail:"):
    report_mailbox_section(store_or_stop(), store)

last = st.session_state.get(SUMMARY_KEY)
if last is not None:
    ok, lines = last
    show = st.success if ok else st.warning
    show(
        md("**Import:** {totals}", totals=lines[-1]),
        icon=":material/task_alt:" if ok else ":material/warning:",
    )
    with st.expander("Import summary, file by file", expanded=not ok):
        st.code(data("\n".join(lines[:-1])), language=None, wrap_lines=True)

if domains.empty:
    st.info("No reports yet: upload some above.", icon=":material/upload_file:")
    st.stop()

# ---- domain and period -----------------------------------------------------------------------

by_domain = domains.set_index("policy_domain")
options = list(domains.sort_values("messages", ascending=False)["policy_domain"])
# The selected account's domain comes first, explained with its connections as evidence, so its
# diagnoses are those of its Overview and `accounts show` (admin.diagnosis).
admin_store = store_or_stop()
account = account_picker(admin_store, required=False)
setup = account_setup(admin_store, account) if account is not None else None
moved = account is not None and st.session_state.get("dmarc_account") != account.id
if setup is not None and setup.domain in options and account is not None and moved:
    st.session_state["dmarc_domain"] = setup.domain
    st.session_state["dmarc_account"] = account.id
left, right = st.columns([1, 1])
domain = left.selectbox(
    "Domain",
    options=options,
    # Stored as receivers use it (punycode), with its Unicode form beside it (diagnostics.idn).
    format_func=lambda d: plain(f"{with_unicode(d)} ({by_domain.loc[d, 'messages']:,} messages)"),
    key="dmarc_domain",
)
shown_domain = with_unicode(domain)
evidence: tuple[tuple[str, ...], tuple[str, ...]] = (
    (setup.providers, setup.hosts) if setup is not None and setup.domain == domain else ((), ())
)


def _day(value: object, fallback: dt.date) -> dt.date:
    stamp = pd.Timestamp(value) if value is not None else pd.NaT
    return fallback if pd.isna(stamp) else stamp.date()


today = dt.datetime.now(dt.UTC).date()
first = _day(by_domain.loc[domain, "first_begin"], today)
last_day = _day(by_domain.loc[domain, "last_end"], today)
period = right.date_input(
    "Period (report start dates, UTC)",
    value=(first, last_day),
    key=f"dmarc_period_{domain}",  # another domain starts from its own whole period
)
if not isinstance(period, tuple) or len(period) != 2:
    st.info("Pick the last day of the period.", icon=":material/date_range:")
    st.stop()
start, end = period

# The diagnoses come first on the page but are filled in last (see the end of this file), so the
# figures and tables below do not wait on DNS while each source is explained.
diagnoses = st.container()

try:
    view = views.period_view(store, key, domain, start, end)
except DiagnosticsError as exc:
    show_error(exc)
    st.stop()
volume, sources, reports = view.volume, view.sources, view.reports
messages, passed = view.messages, view.dmarc_pass
a, b, c, d = st.columns(4)
a.metric("Messages", md("{n:,}", n=messages))
b.metric("DMARC pass", md("{rate:.1f} %", rate=100 * passed / messages) if messages else "—")
c.metric("Sending IPs", md("{n:,}", n=len(sources)))
d.metric("Reports", md("{n:,}", n=len(reports)))

if volume.empty:
    st.info(
        md("No aggregate reports for {domain} start in this period.", domain=shown_domain),
        icon=":material/info:",
    )
else:
    bars, rate = view.charts
    unit = view.unit
    left, right = st.columns(2)
    with left:
        st.caption(md("Messages a {unit}", unit=unit))
        st.vega_lite_chart(spec=bars, width="stretch")
    with right:
        st.caption(md("DMARC pass rate a {unit}", unit=unit))
        st.vega_lite_chart(spec=rate, width="stretch")


def _percent(label: str) -> Any:
    return st.column_config.ProgressColumn(label, format="%.0f %%", min_value=0, max_value=100)


tab_sources, tab_reports, tab_failure, tab_tls = st.tabs(
    ["Sources", "Reports", "Failure reports", "TLS reports"]
)

with tab_sources:
    if st.button(
        "Name the senders",
        icon=":material/badge:",
        help="Look up the reverse DNS of every sending IP (cached, so each is asked once a day). "
        "Until then, senders are named from offline data: a provider's networks as our catalogue "
        "copied them, else the owner of the IP's network.",
    ):
        bar = st.progress(0.0, text="Looking up reverse DNS…")

        def looked_up(done: int, total: int, ip: str) -> None:
            bar.progress(
                done / total, text=md("{done:,} of {total:,} addresses", done=done, total=total)
            )

        try:
            named = name_senders(
                store, list(sources["source_ip"]), app_resolver(), progress=looked_up
            )
            key = views.store_key(store)  # the names are stored: a new generation
            view = views.period_view(store, key, domain, start, end)
            sources = view.sources
        except DiagnosticsError as exc:
            show_error(exc)
        else:
            found = int(named["reverse_dns"].notna().sum())
            bar.progress(
                1.0,
                text=md(
                    "{found:,} of {total:,} addresses have a reverse DNS name.",
                    found=found,
                    total=len(named),
                ),
            )
    st.dataframe(
        view.services,
        hide_index=True,
        width="stretch",
        column_config={
            "service": "Service",
            "ips": st.column_config.NumberColumn("IPs", format="%d"),
            "messages": st.column_config.NumberColumn("Messages", format="%d"),
            "spf_aligned_pct": _percent("SPF aligned"),
            "dkim_aligned_pct": _percent("DKIM aligned"),
            "dmarc_pass_pct": _percent("DMARC pass"),
            "disposition": "Disposition",
        },
    )
    with st.expander(md("By sending IP ({n:,})", n=len(sources))):
        st.dataframe(
            view.sources_table,
            hide_index=True,
            width="stretch",
            column_config={
                "source_ip": "IP",
                "service": "Service",
                "named_by": "Named from",
                "reverse_dns": "Reverse DNS",
                "messages": st.column_config.NumberColumn("Messages", format="%d"),
                "none": st.column_config.NumberColumn("Delivered", format="%d"),
                "quarantine": st.column_config.NumberColumn("Quarantined", format="%d"),
                "reject": st.column_config.NumberColumn("Rejected", format="%d"),
                "spf_aligned_pct": st.column_config.NumberColumn("SPF aligned %", format="%.0f"),
                "dkim_aligned_pct": st.column_config.NumberColumn("DKIM aligned %", format="%.0f"),
                "dmarc_pass_pct": st.column_config.NumberColumn("DMARC pass %", format="%.0f"),
            },
        )
    st.download_button(
        "Download the records (CSV)",
        # Built only when clicked: a period can hold a million records.
        data=lambda: records_csv(store, domain, start, end),
        file_name=f"dmarc-records-{domain}-{start}-{end}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
    )

with tab_reports:
    if reports.empty:
        st.info("No reports in this period.")
    else:
        by_pk = reports.set_index("report_pk")

        def _label(pk: int) -> str:
            row = by_pk.loc[pk]
            begun = pd.Timestamp(row["begin"])
            when = "no date" if pd.isna(begun) else f"{begun:%Y-%m-%d}"
            org = row["org_name"] or "(no organisation)"
            # An option is plain text (not Markdown): only its hidden characters are shown.
            return plain(
                f"{when} · {org} · {row['report_id'] or '(no id)'} · "
                f"{plural(row['message_count'], 'message')}"
            )

        pk = st.selectbox(
            "Report", options=list(reports["report_pk"]), format_func=_label, key="dmarc_report"
        )
        row = by_pk.loc[pk]
        policy = f"p={row['policy_p']}"
        if pd.notna(row["policy_sp"]) and row["policy_sp"]:
            policy += f"; sp={row['policy_sp']}"
        if pd.notna(row["policy_pct"]):
            policy += f"; pct={row['policy_pct']}"
        # All the receiver's words (its name, address, policy, errors) and the file's name: text.
        st.caption(
            md(
                "From **{org}**{email}, policy {policy!c}, file {file!c}.",
                org=row["org_name"] or "an unnamed receiver",
                email=md(" ({email})", email=row["org_email"]) if row["org_email"] else "",
                policy=policy,
                file=shown_name(row["source"]),
            )
        )
        for note in (row["warnings"], row["errors"]):
            if isinstance(note, str) and note.strip():
                st.warning(text(note), icon=":material/warning:")
        try:
            rows = views.report_rows(store, key, int(pk))
        except DiagnosticsError as exc:
            show_error(exc)
        else:
            if int(row["record_count"]) > rows.num_rows:
                st.caption(
                    md(
                        "The first {shown:,} of its {total:,} records, in the report's order. "
                        "**Download the records (CSV)** on the Sources tab has them all.",
                        shown=rows.num_rows,
                        total=int(row["record_count"]),
                    )
                )
            st.dataframe(
                rows,
                hide_index=True,
                width="stretch",
                column_config=column_labels(rows.column_names),
            )


for tab, kind, toggle, none_here in (
    (tab_failure, "failure", "dmarc_failure_all", "No failure reports in this period."),
    (tab_tls, "tls", "dmarc_tls_all", "No SMTP TLS reports in this period."),
):
    with tab:
        every = st.toggle(
            "All stored", key=toggle, help="Every domain and date, not only the above"
        )
        try:
            if every:
                table = views.stored_reports(store, key, kind, None, None, None)
            else:
                table = views.stored_reports(store, key, kind, domain, start, end)
        except DiagnosticsError as exc:
            show_error(exc)
        else:
            if table.empty:
                st.info(none_here)
            else:
                st.dataframe(
                    table,
                    hide_index=True,
                    width="stretch",
                    column_config=column_labels(map(str, table.columns)),
                )


def show_diagnoses(
    store: ReportStore,
    key: tuple[str, int],
    domain: str,
    start: dt.date,
    end: dt.date,
    evidence: tuple[tuple[str, ...], tuple[str, ...]],
) -> None:
    """One card per source that needs a fix, worst first, with the exact records to publish; many
    sources of one kind share a card. Computed once for every session (desk.report_views)."""
    st.subheader("What to fix")
    try:
        with st.spinner("Explaining each source against today's DNS…"):
            done = views.explained(store, key, domain, start, end, dns_settings(), evidence)
    except views.ExplainUnfinished:
        st.warning(
            md(
                "Explaining the sources of {domain} did not finish in {limit:.0f} seconds; the "
                "tables below still show every source.",
                domain=with_unicode(domain),
                limit=app_config().checks.timeout,
            ),
            icon=":material/timer_off:",
        )
        return
    except DiagnosticsError as exc:
        show_error(exc)
        return
    left, right = st.columns([3, 1], vertical_alignment="center")
    left.caption(md("DNS as read at {at:%H:%M} UTC.", at=done.checked_at))
    right.button(
        "Check DNS again",
        icon=":material/refresh:",
        on_click=views.check_dns_again,
        args=(store, key, domain, start, end, evidence),
        help="After publishing a record: explain every source against DNS as it is now.",
    )
    if done.diagnoses and not done.failing:
        st.success(
            md(
                "Every source of {domain} in this period is compliant: SPF and DKIM both pass "
                "and align.",
                domain=with_unicode(domain),
            ),
            icon=":material/check_circle:",
        )
    # Ranked by impact (desk.report_layout): the unknown senders take their place among the rest.
    for index, kind in enumerate(done.sections):
        if done.spoofers is not None and index == done.spoofers_at:
            unknown_senders_card(done)
        for diagnosis in kind.cards:
            diagnosis_card(diagnosis)
        if kind.rest is not None:
            more_of_a_kind(kind)
    if done.spoofers is not None and done.spoofers_at >= len(done.sections):
        unknown_senders_card(done)
    if done.failing and done.compliant is not None:
        compliant = done.compliant
        total = len(compliant.cards) + compliant.rest_count
        with st.expander(plural(total, "compliant source")):
            for diagnosis in compliant.cards:
                diagnosis_card(diagnosis)
            if compliant.rest is not None:
                st.dataframe(compliant.rest, hide_index=True, width="stretch")


def more_of_a_kind(kind: Section) -> None:
    """The sources of one kind beyond the first cards, as one table: each reads like the cards
    above, so a row says only who, how much and what to do."""
    label = md(
        "{sources} {kind} ({share} of the mail, {messages})",
        sources=plural(kind.rest_count, "more source"),
        kind=kind.kind.label.lower(),
        share=share_text(kind.rest_share),
        messages=plural(kind.rest_messages, "message"),
    )
    with st.expander(label):
        st.dataframe(kind.rest, hide_index=True, width="stretch")


def unknown_senders_card(done: Explained) -> None:
    assert done.spoofers is not None
    with st.container(border=True):
        st.markdown(
            md(
                "**{senders}** · {kind} · {share} of the mail ({messages})",
                senders=plural(done.spoofers.num_rows, "unknown sender"),
                kind=Category.UNAUTHORIZED.label,
                share=share_text(done.spoofer_share),
                messages=plural(done.spoofer_messages, "message"),
            )
        )
        st.write(
            "These addresses sent mail as the domain that passed neither SPF nor DKIM, and none "
            "belongs to your providers or any provider we know: most likely spoofing. Do not "
            "authorize them; once your own senders pass, a stricter DMARC policy (quarantine, then "
            "reject) makes receivers refuse such mail. The IP owner is only whose network an "
            "address is in: a cloud network such as Amazon's carries anyone's servers, not just "
            "its mail service."
        )
        height = min(400, 38 + 35 * done.spoofers.num_rows)
        st.dataframe(done.spoofers, hide_index=True, width="stretch", height=height)


with diagnoses:
    show_diagnoses(store, key, domain, start, end, evidence)
