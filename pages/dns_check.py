"""DNS check: does this domain's SPF authorize its providers, and if not, what exactly to publish."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from desk.markdown import data, md, table, text
from desk.resources import app_resolver
from desk.routing import through_the_router
from desk.widgets import finding_cards, show_error
from diagnostics import DiagnosticsError, providers
from diagnostics.spf import SpfAnalysis, SpfNode, analyze, check_host, recommend
from diagnostics.spf.tree import MAX_LOOKUPS, MAX_VOID_LOOKUPS

through_the_router()  # before anything is drawn: see desk/routing.py

st.title("DNS check")
st.caption(
    "Does this domain's SPF record authorize the providers it sends through? "
    "If not, here is the exact record to publish."
)

CATALOGUE = {p.key: p for p in providers.all()}

with st.form("dns_check"):
    domain = st.text_input("Domain", placeholder="example.com", help="The From domain of the mail.")
    chosen = st.multiselect(
        "Providers in use",
        options=list(CATALOGUE),
        format_func=lambda key: CATALOGUE[key].name,
        help="Pick every service that sends mail for this domain, the platform included.",
    )
    with st.expander("Test a sending IP (optional)"):
        ip = st.text_input("IP address", placeholder="192.0.2.10")
        sender = st.text_input("Envelope sender", placeholder="postmaster@example.com")
    submitted = st.form_submit_button("Check", type="primary")

if submitted:
    if not domain.strip():
        st.warning("Enter a domain to check.")
        st.stop()
    resolver = app_resolver()
    try:
        with st.status("Checking DNS…", expanded=False) as status:
            status.update(label="Reading the SPF record and its includes…")
            analysis = analyze(domain, resolver=resolver)
            rec = None
            if chosen:
                status.update(label="Writing the record to publish…")
                rec = recommend(domain, chosen, resolver=resolver)
            verdict = None
            if ip.strip():
                status.update(label=md("Testing {ip}…", ip=ip.strip()))
                who = sender.strip() or f"postmaster@{analysis.domain}"
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
    st.session_state["dns_check_result"] = (analysis, rec, verdict)

result = st.session_state.get("dns_check_result")
if result is None:
    st.info("Enter a domain and press **Check**.", icon=":material/search:")
    st.stop()

analysis, rec, verdict = result
analysis_typed: SpfAnalysis = analysis

st.subheader(md("SPF for {domain}", domain=analysis_typed.domain))
left, middle, right = st.columns(3)
left.metric("DNS lookups", md("{n} / {most}", n=analysis_typed.lookups, most=MAX_LOOKUPS))
middle.metric(
    "Void lookups", md("{n} / {most}", n=analysis_typed.void_lookups, most=MAX_VOID_LOOKUPS)
)
errors = sum(1 for f in analysis_typed.findings if f.severity.value == "error")
right.metric("Problems", errors, help="Findings of severity error")
st.progress(
    min(analysis_typed.lookups / MAX_LOOKUPS, 1.0),
    text=md("{n} of the {most} DNS lookups SPF allows", n=analysis_typed.lookups, most=MAX_LOOKUPS),
)
if analysis_typed.record:
    st.code(data(analysis_typed.record), language=None, wrap_lines=True)
else:
    st.warning("This domain publishes no SPF record.")

if rec is not None:
    st.subheader("What to publish")
    if rec.record == rec.current:
        st.success(
            md(
                "Nothing to change at **{domain}**: every chosen provider is authorized.",
                domain=rec.domain,
            )
        )
    else:
        st.markdown(
            md(
                "Publish this **TXT** record at **{domain!c}** (copy it with the button):",
                domain=rec.domain,
            )
        )
        st.code(data(rec.record), language=None, wrap_lines=True)
        if rec.current:
            # Today's record, as DNS answered it: shown as code, whatever it holds.
            st.caption(md("It replaces: {current!c}", current=rec.current))
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
    extra = [f for f in rec.findings if f not in analysis_typed.findings]
    if extra:
        finding_cards(extra)

st.subheader("Findings")
finding_cards(analysis_typed.findings)


def _rows(node: SpfNode, depth: int = 0) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [
        {
            "domain": "\u2003" * depth + node.domain,
            "via": node.via or "",
            "lookups": node.lookups,
            "running total": node.running_total,
            "networks": len(node.networks),
            "findings": ", ".join(f.code for f in node.findings),
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
