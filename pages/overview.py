"""Overview: one account at a glance, as its one diagnosis (admin.diagnosis) says it: how its mail
goes out, its live connection's settings and latest test, what to fix first, its domain's SPF,
DKIM, DMARC and MX for the providers it is configured with, and what its DMARC reports say."""

from __future__ import annotations

import streamlit as st

from admin import Permission
from desk.account_diagnosis import (
    account_diagnosis,
    forget_diagnosis,
    health_section,
    live_connection,
    problems_list,
    route_box,
)
from desk.configuration import app_config
from desk.connection_tests import run_probe
from desk.markdown import md, text
from desk.report_address import rua_section
from desk.resources import current_actor, store_or_stop
from desk.routing import page_link, through_the_router
from desk.widgets import account_picker, diagnosis_card
from diagnostics import providers

through_the_router()  # before anything is drawn: see desk/routing.py

st.title("Overview")
st.caption(
    "One account at a glance: how its mail goes out, its live connection and latest test, what "
    "to fix first, whether its domain is set up for its providers and what its DMARC reports say."
)

TOP_DIAGNOSES = 3

store = store_or_stop()
account = account_picker(store)
st.subheader(md("{name} · {plan}", name=account.name, plan=account.plan.display_name))
if st.button("Check again", icon=":material/refresh:", help="Read DNS and the reports anew."):
    forget_diagnosis()
found = account_diagnosis(store, account)
if found is None:
    st.stop()

# -- How mail goes out, and through what --------------------------------------------------------
route_box(found)
may_test = current_actor().can(Permission.RUN_PROBES) and found.connections_visible
if live_connection(found, may_test=may_test) and found.active is not None:
    # The run after it diagnoses the account anew, which saves its queue row: no second refresh.
    record = run_probe(
        store,
        account.id,
        found.active,
        send_to=None,
        timeout=app_config().smtp.timeout,
        refresh_queue=False,
    )
    if record is not None:
        forget_diagnosis()
        st.rerun()
if may_test:
    page_link(
        "pages/test_mail.py",
        "Test mail: run a test, see every step",
        "test-mail",
        ":material/forward_to_inbox:",
    )

problems_list(found)

# -- The domain -------------------------------------------------------------------------------
if found.domain:
    named = [providers.get(k).name for k in found.providers]
    st.caption(
        md(
            "{domain} checked for {who}",
            domain=found.domain,
            who=md("**{names}** and the platform", names=", ".join(named))
            if named
            else "the platform's own sending",
        )
    )
if found.health is not None:
    health_section(found.health, found)
    rua_section(found.health.dmarc_check, app_config().reports.addresses)
elif found.health_note:
    st.info(text(found.health_note), icon=":material/dns:")
page_link(
    "pages/dns_check.py", "DNS check: any domain, any provider", "dns-check", ":material/dns:"
)

# -- What the DMARC reports say ---------------------------------------------------------------
st.subheader("From the DMARC reports")
reports = found.reports
if not found.domain:
    pass  # said above: no domain, no reports to read
elif not reports.complete:
    st.warning(
        md(
            "Explaining the reports of {domain} did not finish in {limit:.0f} seconds. The "
            "DMARC reports page shows them source by source.",
            domain=found.domain,
            limit=app_config().checks.timeout,
        ),
        icon=":material/timer_off:",
    )
elif reports.messages == 0:
    st.info(
        md(
            "No DMARC reports for {domain} in the last {days} days.",
            domain=found.domain,
            days=reports.days,
        ),
        icon=":material/summarize:",
    )
elif not reports.to_fix:
    st.success(
        md(
            "Every source in {n:,} reported messages of the last {days} days is compliant: "
            "SPF and DKIM both align and pass.",
            n=reports.messages,
            days=reports.days,
        ),
        icon=":material/check_circle:",
    )
else:
    st.caption(
        md(
            "The sources with the most messages failing DMARC, of {n:,} reported messages in the "
            "last {days} days.",
            n=reports.messages,
            days=reports.days,
        )
    )
    for diagnosis in reports.to_fix[:TOP_DIAGNOSES]:
        diagnosis_card(diagnosis)
page_link(
    "pages/dmarc_reports.py", "DMARC reports: every source", "dmarc-reports", ":material/summarize:"
)
