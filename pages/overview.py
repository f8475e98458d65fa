"""Overview: one account at a glance: how its mail goes out, whether its domain's SPF, DKIM, DMARC
and MX are right for its provider, its latest SMTP test and what its DMARC reports say to fix."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from admin import (
    Connection,
    PermissionDenied,
    RouteMode,
    active_connection,
    provider_of,
    sending_domain,
)
from desk.bounded_checks import REPORT_DAYS, check_health, top_diagnoses
from desk.configuration import app_config
from desk.markdown import Markdown, data, md, text
from desk.report_address import rua_section
from desk.resources import app_resolver, report_store, store_or_stop
from desk.routing import page_link, through_the_router
from desk.widgets import account_picker, diagnosis_card, finding_cards, show_error
from diagnostics import DiagnosticsError
from diagnostics.dmarc import Diagnosis
from diagnostics.health import DomainHealth, Part
from diagnostics.smtp import ProbeResult
from diagnostics.verdict import Verdict

through_the_router()  # before anything is drawn: see desk/routing.py

st.title("Overview")
st.caption(
    "One account at a glance: how its mail goes out, whether its domain is set up for its "
    "provider, its latest SMTP test and what its DMARC reports say to fix."
)

store = store_or_stop()
account = account_picker(store)
route = account.route
check_timeout = app_config().checks.timeout  # DESK_CHECK_TIMEOUT: a whole check gives up after it

# -- How mail goes out ------------------------------------------------------------------------
try:
    connections: list[Connection] = store.list_connections(account.id)
except PermissionDenied:
    connections = []  # a role that may not see connections still sees the route and the domain
active = active_connection(route, connections)
provider = provider_of(active)

st.subheader(md("{name} · {plan}", name=account.name, plan=account.plan.display_name))
if route.mode is RouteMode.CUSTOM:
    through = (
        md("{label} ({host!c})", label=active.label, host=f"{active.host}:{active.port}")
        if active
        else "a custom connection"
    )
    st.success(
        md(
            "**Outbound: custom SMTP** through {through}\n\n{reason}",
            through=through,
            reason=route.reason,
        ),
        icon=":material/send:",
    )
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

# -- The domain -------------------------------------------------------------------------------
domain_key = f"overview_domain_{account.id}"
if domain_key not in st.session_state:
    st.session_state[domain_key] = sending_domain(active, connections)
left, right = st.columns([3, 1], vertical_alignment="bottom")
domain = (
    left.text_input(
        "Domain",
        key=domain_key,
        placeholder="example.com",
        help="The From domain of the account's mail (from the active connection); type another to check it.",
    )
    .strip()
    .lower()
)
again = right.button("Check again", icon=":material/refresh:", disabled=not domain)
keys = [provider.key] if provider is not None else []
st.caption(
    md(
        "Checked for {who}{unknown}",
        who=md("**{name}** and the platform", name=provider.name)
        if provider
        else "the platform's own sending",
        unknown=md(" (the host {host!c} is not a provider we know)", host=active.host)
        if active and not provider
        else "",
    )
)

if not domain:
    st.info("Enter the domain the account sends from.", icon=":material/search:")
    st.stop()

# Only public DNS answers land in the session (nothing secret), keyed by what was asked, so moving
# between widgets does not ask DNS again.
asked = (domain, tuple(keys))
bad_domain: DiagnosticsError | None = None
cached = st.session_state.get("overview_health")
if again or cached is None or cached[0] != asked:
    resolver = app_resolver()
    try:
        with st.status(md("Checking {domain}…", domain=domain), expanded=False) as status:
            health = check_health(domain, keys, resolver, check_timeout)
            done = "Done" if health else "Gave up"
            status.update(
                label=md(
                    "{done}: {queries} DNS queries.", done=done, queries=resolver.queries_sent
                ),
                state="complete" if health else "error",
            )
    except DiagnosticsError as exc:
        # Not a domain (a typo): said once, and the account's SMTP test below is still worth seeing.
        bad_domain = exc
        health = None
    else:
        st.session_state["overview_health"] = (asked, health)
else:
    health = cached[1]

# The page's own Markdown (a badge with its icon), never a value.
_TILE = {
    Verdict.OK: Markdown(":green-badge[:material/check_circle: OK]"),
    Verdict.WARNING: Markdown(":orange-badge[:material/warning: Warning]"),
    Verdict.ERROR: Markdown(":red-badge[:material/error: Problem]"),
}


def tile(column: DeltaGenerator, part: Part) -> None:
    with column.container(border=True):
        st.markdown(
            md("**{name}** &nbsp; {badge}", name=part.name.upper(), badge=_TILE[part.status])
        )
        # The summary quotes DNS records: shown as text.
        st.markdown(text(part.summary))


def health_section(checked: DomainHealth) -> None:
    st.subheader(md("DNS of {domain}", domain=checked.domain))
    for column, part in zip(st.columns(4), checked.parts, strict=True):
        tile(column, part)
    rec = checked.spf_recommendation
    if rec is not None and rec.record and rec.record != rec.current:
        st.markdown(md("SPF to publish at **{domain!c}** (TXT):", domain=rec.domain))
        st.code(data(rec.record), language=None, wrap_lines=True)
        if rec.current:
            st.caption(md("It replaces: {current!c}", current=rec.current))
    tabs = st.tabs(
        [md("{name} ({n})", name=p.name.upper(), n=len(p.findings)) for p in checked.parts]
    )
    for tab, part in zip(tabs, checked.parts, strict=True):
        with tab:
            finding_cards(part.findings)


if bad_domain is not None:
    show_error(bad_domain)
elif health is None:
    st.warning(
        md(
            "The DNS check of {domain} did not finish in {limit:.0f} seconds: the nameserver is "
            "slow or unreachable. Press **Check again** in a while.",
            domain=domain,
            limit=check_timeout,
        ),
        icon=":material/timer_off:",
    )
else:
    health_section(health)
    rua_section(health.dmarc_check, app_config().reports.addresses)

# -- The latest SMTP test ---------------------------------------------------------------------
st.subheader("Latest SMTP test")
may_test = True
try:
    latest = store.probe_history(account.id, limit=1)
except PermissionDenied as exc:
    # A role without SMTP access: said so, and no link to a page it cannot open.
    st.caption(text(exc))
    latest, may_test = [], False
if not latest and may_test:
    st.info("No test has been run for this account yet.", icon=":material/science:")
elif latest:
    record = latest[0]
    when = md(
        "{at:%Y-%m-%d %H:%M} UTC · “{label}” · by {actor}",
        at=record.at,
        label=record.connection_label,
        actor=record.actor,
    )
    try:
        result: ProbeResult | None = ProbeResult.from_dict(record.result)
    except (KeyError, TypeError, ValueError):
        result = None
    if record.ok:
        st.success(
            md("**It works.** {outcome}", outcome=record.outcome.replace("_", " ")),
            icon=":material/check_circle:",
        )
    elif result is None:
        st.error(
            md(
                "**{outcome}** at {stage}",
                outcome=record.outcome.replace("_", " "),
                stage=record.stage or "start",
            )
        )
    else:
        # The explanation and the fix quote the provider's reply: shown as text.
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
    st.caption(when)
if may_test:
    page_link(
        "pages/test_mail.py",
        "Test mail: run a test, see every step",
        "test-mail",
        ":material/forward_to_inbox:",
    )

# -- What the DMARC reports say ---------------------------------------------------------------
st.subheader("From the DMARC reports")


# Explained once per domain and "Check again", like the DNS check above.
top_key = "overview_diagnoses"
shown_top = st.session_state.get(top_key)
failed: DiagnosticsError | None = None
if bad_domain is not None:
    top: tuple[int, list[Diagnosis]] | None = (0, [])  # no report is about a non-domain
elif again or shown_top is None or shown_top[0] != domain:
    try:
        reports = report_store()
        with st.status("Reading the DMARC reports…", expanded=False) as status:
            top = top_diagnoses(reports, domain, app_resolver(), check_timeout)
            status.update(label="Reports read.", state="complete" if top else "error")
    except DiagnosticsError as exc:  # StoreError too: the database cannot be read
        failed = exc
    else:
        st.session_state[top_key] = (domain, top)
else:
    top = shown_top[1]
if failed is not None:
    show_error(failed)
else:
    if top is None:
        st.warning(
            md(
                "Explaining the reports of {domain} did not finish in {limit:.0f} seconds. The "
                "DMARC reports page shows them source by source.",
                domain=domain,
                limit=check_timeout,
            ),
            icon=":material/timer_off:",
        )
    elif top[0] == 0:
        st.info(
            md(
                "No DMARC reports for {domain} in the last {days} days.",
                domain=domain,
                days=REPORT_DAYS,
            ),
            icon=":material/summarize:",
        )
    elif not top[1]:
        st.success(
            md(
                "Every source in {n:,} reported messages of the last {days} days is compliant: "
                "SPF and DKIM both align and pass.",
                n=top[0],
                days=REPORT_DAYS,
            ),
            icon=":material/check_circle:",
        )
    else:
        st.caption(
            md(
                "The worst sources over {n:,} reported messages of the last {days} days.",
                n=top[0],
                days=REPORT_DAYS,
            )
        )
        for diagnosis in top[1]:
            diagnosis_card(diagnosis)
page_link(
    "pages/dmarc_reports.py", "DMARC reports: every source", "dmarc-reports", ":material/summarize:"
)
