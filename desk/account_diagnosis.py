"""The account's one diagnosis (admin.diagnosis) on a page: got once per account, kept in the
session while nothing it rests on changed, and drawn by the same functions on the Overview, the
DNS check and the DMARC reports page, so every page shows the same words and the same records.

    found = account_diagnosis(store, account)     # None when the store refuses (shown)
    route_box(found); live_connection(found, ...); problems_list(found)
    health_section(found.health); records_section(found)

A diagnosis got anew also refreshes the account's row in the support queue (desk.queue_upkeep),
when it was got with the account's connections.

What is kept: the diagnosis (public DNS answers, report figures, lint findings in words; never a
password), keyed by the account, its last change, the report store's generation and its newest
test, for at most DNS_FRESH_SECONDS (a resolver's own cache bound).
"""

from __future__ import annotations

import time

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from admin import Account, AdminError, Connection, PermissionDenied, RouteMode, Store
from admin.diagnosis import AccountDiagnosis, AccountProblem, diagnose_account
from desk.configuration import app_config
from desk.markdown import Markdown, data, md, text
from desk.queue_upkeep import save_queue_row
from desk.report_views import DNS_FRESH_SECONDS
from desk.resources import app_resolver, report_store
from desk.widgets import finding_cards, publish_record, show_error
from diagnostics import DiagnosticsError
from diagnostics.findings import Severity
from diagnostics.health import DomainHealth, Part

_KEPT = "account_diagnosis"  # session key: (what it was got for, when, the diagnosis)


def _fingerprint(store: Store, account: Account) -> tuple[object, ...]:
    """What the diagnosis rests on, read cheaply: a change to any of it gets a new one."""
    try:
        newest = store.probe_history(account.id, limit=1)
    except PermissionDenied:
        newest = []
    try:
        generation = report_store().generation()
    except DiagnosticsError:
        generation = -1
    return (
        account.id,
        account.updated_at.isoformat(),
        tuple((c.id, c.updated_at.isoformat()) for c in _connections(store, account)),
        generation,
        newest[0].id if newest else None,
    )


def _connections(store: Store, account: Account) -> list[Connection]:
    try:
        return list(store.list_connections(account.id))
    except PermissionDenied:
        return []


def forget_diagnosis() -> None:
    """Get the diagnosis anew on the next run (after a test, or "Check again")."""
    st.session_state.pop(_KEPT, None)


def account_diagnosis(store: Store, account: Account) -> AccountDiagnosis | None:
    """The account's diagnosis, from the session while still fresh; None (with the reason shown)
    when the report store or the account cannot be read."""
    try:
        key = _fingerprint(store, account)
    except AdminError as exc:
        st.error(text(exc), icon=":material/error:")
        return None
    kept = st.session_state.get(_KEPT)
    if kept is not None and kept[0] == key and time.monotonic() - kept[1] < DNS_FRESH_SECONDS:
        found: AccountDiagnosis = kept[2]
        return found
    try:
        with st.status(md("Diagnosing {name}…", name=account.name), expanded=False) as status:
            resolver = app_resolver()
            found = diagnose_account(
                store,
                account.id,
                report_store=report_store(),
                resolver=resolver,
                config=app_config(),
            )
            status.update(
                label=md("Diagnosed: {n} DNS queries.", n=resolver.queries_sent), state="complete"
            )
    except DiagnosticsError as exc:  # the report store cannot be read
        show_error(exc)
        return None
    except AdminError as exc:
        st.error(text(exc), icon=":material/error:")
        return None
    st.session_state[_KEPT] = (key, time.monotonic(), found)
    save_queue_row(store, found)  # the queue reads what this page has just worked out
    return found


# -- the route and the live connection ---------------------------------------------------------


def route_box(found: AccountDiagnosis) -> None:
    """How mail goes out. Green only for a custom connection with no lint error and a passing
    latest test: a saved IAM secret key or an untested connection is never a green box."""
    route = found.route
    active = found.active
    if route.mode is RouteMode.CUSTOM:
        through = (
            md("{label} ({host!c})", label=active.label, host=f"{active.host}:{active.port}")
            if active
            else "a custom connection"
        )
        body = md(
            "**Outbound: custom SMTP** through {through}\n\n{reason}",
            through=through,
            reason=route.reason,
        )
        healthy = (
            active is not None
            and not active.errors
            and active.latest_test is not None
            and active.latest_test.ok
        )
        if healthy:
            st.success(body, icon=":material/send:")
        else:
            st.warning(body, icon=":material/send:")
    elif route.mode is RouteMode.MANAGED:
        st.info(
            md("**Outbound: managed sending** by the platform\n\n{reason}", reason=route.reason),
            icon=":material/send:",
        )
    else:
        st.error(
            md("**Outbound: paused**, no mail goes out\n\n{reason}", reason=route.reason),
            icon=":material/block:",
        )


def latest_test(found: AccountDiagnosis) -> None:
    """The live connection's newest test in plain words: what happened, at which step, why and
    what to change; "not tested yet" when none ran."""
    active = found.active
    if active is None:
        return
    test = active.latest_test
    if test is None:
        st.warning(
            md(
                "**Not tested yet.** No SMTP test has tried “{label}”: run one to see that it "
                "connects, signs in and may send.",
                label=active.label,
            ),
            icon=":material/science:",
        )
        return
    when = md(
        "{at:%Y-%m-%d %H:%M} UTC · “{label}” · by {actor}",
        at=test.at,
        label=active.label,
        actor=test.actor,
    )
    if test.ok:
        st.success(
            md("**{title}.** {explanation}", title=test.title, explanation=test.explanation),
            icon=":material/check_circle:",
        )
    else:
        # The explanation and the fix quote the provider's reply: shown as text.
        st.error(
            md(
                "**{title}**{stage}\n\n{explanation}",
                title=test.title,
                stage=md(" at {stage}", stage=test.stage) if test.stage else "",
                explanation=test.explanation,
            ),
            icon=":material/error:",
        )
        if test.causes:
            st.caption(md("Likely cause: {causes}", causes="; ".join(test.causes)))
        if test.fix:
            st.info(md("**What to change:** {fix}", fix=test.fix), icon=":material/build:")
    st.caption(when)


def live_connection(found: AccountDiagnosis, *, may_test: bool) -> bool:
    """The live connection's lint (what its saved settings say, errors first) and its latest
    test, with a "Run test" button for a role that may run tests. True when it was pressed."""
    active = found.active
    if active is None:
        return False
    st.subheader(md("Live connection: {label}", label=active.label))
    problems = [f for f in active.findings if f.severity is not Severity.INFO]
    if problems:
        st.markdown("**What its saved settings say**")
        finding_cards(problems)
    latest_test(found)
    if not may_test:
        return False
    return st.button(
        "Run test",
        icon=":material/science:",
        key=f"overview_run_test_{active.id}",
        help="Connect, upgrade to TLS and sign in as the platform does; sends nothing.",
    )


# -- what to fix first -----------------------------------------------------------------------------

_SHOW = {Severity.ERROR: st.error, Severity.WARNING: st.warning, Severity.INFO: st.info}
_ICONS = {
    Severity.ERROR: ":material/error:",
    Severity.WARNING: ":material/warning:",
    Severity.INFO: ":material/info:",
}
TOP_PROBLEMS = 5


def _problem_line(problem: AccountProblem) -> Markdown:
    """A problem's heading: its plain title, and the messages it fails DMARC for."""
    messages = (
        md(" · {n:,} messages failing DMARC", n=problem.failing_dmarc)
        if problem.failing_dmarc
        else ""
    )
    return md("**{title}**{messages}", title=problem.title, messages=messages)


def problems_list(found: AccountDiagnosis, limit: int = TOP_PROBLEMS) -> None:
    """The account's problems, most messages failing DMARC first, then the most severe."""
    st.subheader("What to fix first")
    if not found.problems:
        st.success("Nothing to fix: no problem found.", icon=":material/check_circle:")
        return
    for problem in found.problems[:limit]:
        _SHOW[problem.severity](
            md("{line}\n\n{detail}", line=_problem_line(problem), detail=problem.detail),
            icon=_ICONS[problem.severity],
        )
    if len(found.problems) > limit:
        st.caption(md("And {n} more below.", n=len(found.problems) - limit))


# -- the domain's DNS ------------------------------------------------------------------------------

# The page's own Markdown (a badge with its icon), never a value.
_TILE = {
    "ok": Markdown(":green-badge[:material/check_circle: OK]"),
    "warning": Markdown(":orange-badge[:material/warning: Warning]"),
    "error": Markdown(":red-badge[:material/error: Problem]"),
    # A part the configuration left out (the MX hosts' TLS without DESK_HEALTH_NETWORK).
    "not_checked": Markdown(":gray-badge[:material/remove: Not checked]"),
    # An optional part the domain has not set up (MTA-STS, TLS reporting, BIMI): not a green OK.
    "not_set_up": Markdown(":gray-badge[:material/remove: Not set up]"),
}
_PER_ROW = 5


def _tile(column: DeltaGenerator, part: Part) -> None:
    with column.container(border=True):
        st.markdown(md("**{name}** &nbsp; {badge}", name=part.label, badge=_TILE[part.state]))
        # The summary quotes DNS records: shown as text.
        st.markdown(text(part.summary))


def health_section(health: DomainHealth, found: AccountDiagnosis | None = None) -> None:
    """The health check's parts (SPF, DKIM, DMARC, MX, MTA-STS, TLS reporting, BIMI, the MX
    hosts' TLS, DNSSEC) as tiles, the records to publish, each part's findings. With
    `found`, the records are the account's (the one SPF record and the others); without, the
    check's own recommendation (a domain typed on the DNS check)."""
    st.subheader(md("DNS of {domain}", domain=health.domain))
    parts = health.parts
    for start in range(0, len(parts), _PER_ROW):
        # However many parts the check has, in rows; a short last row keeps the tiles' width.
        for column, part in zip(
            st.columns(_PER_ROW), parts[start : start + _PER_ROW], strict=False
        ):
            _tile(column, part)
    if found is not None:
        records_section(found)
    else:
        rec = health.spf_recommendation
        if rec is not None and rec.changed and rec.record:
            spf_record(rec.domain, rec.record, rec.current)
    tabs = st.tabs([md("{name} ({n})", name=p.label, n=len(p.findings)) for p in health.parts])
    for tab, part in zip(tabs, health.parts, strict=True):
        with tab:
            finding_cards(part.findings)


def spf_record(domain: str, record: str, current: str | None) -> None:
    """The one SPF record to publish, in a code block to copy."""
    st.markdown(md("SPF to publish at **{domain!c}** (TXT):", domain=domain))
    st.code(data(record), language=None, wrap_lines=True)
    if current:
        st.caption(md("It replaces: {current!c}", current=current))


def records_section(found: AccountDiagnosis) -> None:
    """The account's records to publish: the one SPF record, then the others (filled, or a marked
    template with nothing to copy)."""
    if found.spf_record is not None:
        rec = found.health.spf_recommendation if found.health is not None else None
        spf_record(found.spf_record.name, found.spf_record.value, rec.current if rec else None)
    if found.other_records:
        st.markdown("**Other records to publish**")
        for other in found.other_records:
            publish_record(other.record)


__all__ = [
    "TOP_PROBLEMS",
    "account_diagnosis",
    "forget_diagnosis",
    "health_section",
    "latest_test",
    "live_connection",
    "problems_list",
    "records_section",
    "route_box",
    "spf_record",
]
