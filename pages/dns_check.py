"""DNS check: does this domain's SPF authorize its providers, and if not, what exactly to publish.
Filled in from the selected account's diagnosis; any domain with any providers too."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from admin.diagnosis import AccountDiagnosis
from desk.account_diagnosis import account_diagnosis, records_section, spf_record
from desk.bounded_checks import check_health
from desk.configuration import app_config
from desk.markdown import data, md, table, text
from desk.resources import app_resolver, store_or_stop
from desk.routing import through_the_router
from desk.widgets import account_picker, finding_cards, show_error
from diagnostics import DiagnosticsError, providers
from diagnostics.findings import Severity
from diagnostics.health import PLATFORM, DomainHealth
from diagnostics.spf import SpfAnalysis, SpfNode, check_host
from diagnostics.spf.tree import MAX_LOOKUPS, MAX_VOID_LOOKUPS

through_the_router()  # before anything is drawn: see desk/routing.py

st.title("DNS check")
st.caption(
    "Does this domain's SPF record authorize the providers it sends through? "
    "If not, here is the exact record to publish."
)

CATALOGUE = {p.key: p for p in providers.all()}

# The selected account's one diagnosis (admin.diagnosis) fills the form and, for its own domain
# and providers, is what the page shows; any other domain goes through the same library check
# (diagnostics.health.check_domain) with the providers chosen here.
found: AccountDiagnosis | None = None
store = store_or_stop()
account = account_picker(store, required=False)
if account is not None:
    found = account_diagnosis(store, account)
account_id = account.id if account is not None else None
RESULT = "dns_check_result"  # (account id, health, IP verdict, the account's own answer?)
account_keys = list(dict.fromkeys([PLATFORM, *(found.providers if found else ())]))
if found is not None and found.domain:
    st.caption(
        md(
            "Filled in from {name}: its domain and the providers its connections send through. "
            "Change either to check anything else.",
            name=found.account_name,
        )
    )

with st.form("dns_check"):
    domain = st.text_input(
        "Domain",
        value=found.domain if found else "",
        placeholder="example.com",
        help="The From domain of the mail.",
    )
    chosen = st.multiselect(
        "Providers in use",
        options=list(CATALOGUE),
        default=account_keys if found and found.domain else [],
        format_func=lambda key: CATALOGUE[key].name,
        help="Pick every service that sends mail for this domain.",
    )
    off_platform = st.checkbox(
        "Not on the platform",
        value=False,
        help=md(
            "Leave {platform}'s include out: only for a domain that never sends through the "
            "platform. Every domain on the platform keeps it.",
            platform=CATALOGUE[PLATFORM].name,
        ),
    )
    with st.expander("Test a sending IP (optional)"):
        ip = st.text_input("IP address", placeholder="192.0.2.10")
        sender = st.text_input("Envelope sender", placeholder="postmaster@example.com")
    submitted = st.form_submit_button("Check", type="primary")


def _the_accounts(name: str, keys: list[str], on_platform: bool) -> bool:
    """True when the form asks what the account's diagnosis already answers."""
    return (
        found is not None
        and found.health is not None
        and on_platform
        and name == found.domain
        and set(keys) | {PLATFORM} == set(account_keys)
    )


if submitted:
    asked = domain.strip().lower().rstrip(".")
    if not asked:
        st.warning("Enter a domain to check.")
        st.stop()
    resolver = app_resolver()
    health: DomainHealth | None = None
    try:
        with st.status("Checking DNS…", expanded=False) as status:
            if _the_accounts(asked, chosen, not off_platform):
                assert found is not None
                health = found.health
            else:
                status.update(label="Reading the SPF record, its includes and the providers…")
                health = check_health(
                    asked,
                    chosen,
                    resolver,
                    app_config().checks.timeout,
                    platform=None if off_platform else PLATFORM,
                )
                if health is None:
                    st.warning(
                        md(
                            "The DNS check of {domain} did not finish in {limit:.0f} seconds: "
                            "the nameserver is slow or unreachable.",
                            domain=asked,
                            limit=app_config().checks.timeout,
                        ),
                        icon=":material/timer_off:",
                    )
                    st.stop()
            verdict = None
            if ip.strip():
                status.update(label=md("Testing {ip}…", ip=ip.strip()))
                who = sender.strip() or f"postmaster@{health.domain}"
                verdict = check_host(ip.strip(), who, resolver=resolver)
            status.update(
                label=md("Done: {n} DNS queries.", n=resolver.queries_sent),
                state="complete",
                expanded=False,
            )
    except DiagnosticsError as exc:
        show_error(exc)
        st.stop()
    # Only public DNS data lands in the session: nothing secret.
    mine = _the_accounts(asked, chosen, not off_platform)
    st.session_state[RESULT] = (account_id, health, verdict, mine)
kept = st.session_state.get(RESULT)
if (kept is None or kept[0] != account_id) and found is not None and found.health is not None:
    kept = (account_id, found.health, None, True)  # the account's own answer, until asked else
if kept is None:
    st.info("Enter a domain and press **Check**.", icon=":material/search:")
    st.stop()

_, checked, verdict, accounts = kept
health_typed: DomainHealth = checked
analysis_typed: SpfAnalysis | None = health_typed.spf_analysis
if analysis_typed is None:  # the check could not read the domain's record at all
    finding_cards(health_typed.spf.findings)
    st.stop()

st.subheader(md("SPF for {domain}", domain=analysis_typed.domain))
left, middle, right = st.columns(3)
left.metric("DNS lookups", md("{n} / {most}", n=analysis_typed.lookups, most=MAX_LOOKUPS))
middle.metric(
    "Void lookups", md("{n} / {most}", n=analysis_typed.void_lookups, most=MAX_VOID_LOOKUPS)
)
# The record's own findings and the providers' (one not authorized is a problem: finding 2).
problems = [f for f in health_typed.spf.findings if f.severity is not Severity.INFO]
right.metric("Problems", len(problems), help="Errors and warnings of the SPF check")
st.progress(
    min(analysis_typed.lookups / MAX_LOOKUPS, 1.0),
    text=md("{n} of the {most} DNS lookups SPF allows", n=analysis_typed.lookups, most=MAX_LOOKUPS),
)
if analysis_typed.record:
    st.code(data(analysis_typed.record), language=None, wrap_lines=True)
else:
    st.warning("This domain publishes no SPF record.")

rec = health_typed.spf_recommendation
if rec is not None:
    st.subheader("What to publish")
    if accounts and found is not None:
        if found.spf_record is None and not found.other_records:
            st.success(
                md(
                    "Nothing to publish at **{domain}**: every provider is authorized.",
                    domain=rec.domain,
                )
            )
        records_section(found)
    elif not rec.changed:
        st.success(
            md(
                "Nothing to change at **{domain}**: every chosen provider is authorized.",
                domain=rec.domain,
            )
        )
    elif rec.record:
        spf_record(rec.domain, rec.record, rec.current)
    st.caption(
        md("DNS lookups after the change: {n} of {most}.", n=rec.lookups_after, most=MAX_LOOKUPS)
    )
    if rec.already_authorized:
        names = ", ".join(
            CATALOGUE[k].name if k in CATALOGUE else k for k in rec.already_authorized
        )
        st.caption(md("Already authorized: {names}.", names=names))
    for note in rec.notes:
        st.info(text(note))

st.subheader("Findings")
finding_cards(health_typed.spf.findings)


def _rows(node: SpfNode, depth: int = 0) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [
        {
            "domain": "\u2003" * depth + node.domain,
            "via": node.via or "",
            "lookups": node.lookups,
            "running total": node.running_total,
            "networks": len(node.networks),
            "findings": ", ".join(f.title for f in node.findings),
            "record": node.record or "(none)",
        }
    ]
    for child in node.children:
        rows.extend(_rows(child, depth + 1))
    return rows


if analysis_typed.tree is not None:
    st.subheader("Include tree")
    tree = table(pd.DataFrame(_rows(analysis_typed.tree)))
    st.dataframe(tree, hide_index=True, use_container_width=True)
    costs = pd.DataFrame(
        {
            "include": [c.via or c.domain for c in analysis_typed.tree.children],
            # the include or redirect term itself costs one lookup, on top of its subtree
            "lookups": [1 + c.total_lookups for c in analysis_typed.tree.children],
        }
    )
    if not costs.empty:
        st.caption("What each include costs of the 10-lookup budget")
        chart = (
            alt.Chart(costs)
            .mark_bar(size=18)
            .encode(
                x=alt.X("lookups:Q", title="DNS lookups", axis=alt.Axis(tickMinStep=1)),
                y=alt.Y("include:N", sort="-x", title=None, axis=alt.Axis(labelLimit=400)),
                tooltip=["include", "lookups"],
            )
            .properties(height=40 + 34 * len(costs))
        )
        st.altair_chart(chart, use_container_width=True)

if verdict is not None:
    st.subheader(md("IP test: {ip}", ip=verdict.ip))
    show = {"pass": st.success, "fail": st.error, "softfail": st.warning}.get(
        verdict.result.value, st.info
    )
    # The explanation is the domain's own (an SPF exp= record): anyone's words, shown as text.
    show(
        md(
            "**{result}** for {sender!c}{problem}{explanation}",
            result=verdict.result.value,
            sender=verdict.sender,
            problem=md(": {p}", p=verdict.problem) if verdict.problem else "",
            explanation=md(" — the domain explains: “{e}”", e=verdict.explanation)
            if verdict.explanation
            else "",
        )
    )
    trace = table(
        pd.DataFrame(
            [
                {
                    "depth": step.depth,
                    "domain": step.domain,
                    "term": step.term,
                    "outcome": step.outcome,
                    "matched": {True: "yes", False: "no", None: ""}[step.matched],
                }
                for step in verdict.trace
            ]
        )
    )
    st.dataframe(trace, hide_index=True, use_container_width=True)
