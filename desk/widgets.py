"""What every page draws alike: the sidebar's account picker, a finding as a card, a DMARC source's
diagnosis with its fix, an error in plain words.

Only the chosen account's id lives in the session; never a password or the key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, overload

import streamlit as st

from admin import Account, AdminError, Plan, Store
from desk.labels import share_text
from desk.markdown import data, md, text
from desk.resources import current_actor
from diagnostics.dmarc import Diagnosis
from diagnostics.errors import DiagnosticsError
from diagnostics.findings import Finding, Severity
from diagnostics.spf.recommend import DnsRecord

ACCOUNT_KEY = "desk_account_id"  # the chosen account's id: an int, nothing secret
ACCOUNT_PARAM = "account"  # ?account=ID in a link to a page: that account, chosen once
_PICKER_KEY = "desk_account_picker"


def _remember_choice() -> None:
    st.session_state[ACCOUNT_KEY] = st.session_state[_PICKER_KEY]


def _follow_link(accounts: Mapping[int, Account]) -> None:
    """A link to a page for one account (`?account=ID`, from the Needs attention page) chooses it,
    once: the parameter is dropped, so the picker rules afterwards."""
    asked = st.query_params.get(ACCOUNT_PARAM)
    if asked is None:
        return
    del st.query_params[ACCOUNT_PARAM]
    if asked.isdigit() and int(asked) in accounts:
        st.session_state[ACCOUNT_KEY] = int(asked)


@overload
def account_picker(store: Store) -> Account: ...
@overload
def account_picker(store: Store, *, required: Literal[False]) -> Account | None: ...
def account_picker(store: Store, *, required: bool = True) -> Account | None:
    """The sidebar's account choice (kept when the admin moves between pages), or stop the run with
    a form to create the first account; with `required` False, None when there is none (a page
    that works for any domain too)."""
    accounts = store.list_accounts()
    with st.sidebar:
        if accounts:
            by_id = {a.id: a for a in accounts}
            _follow_link(by_id)
            chosen = st.session_state.get(ACCOUNT_KEY)
            if chosen not in by_id:
                chosen = accounts[0].id
            # Seed the widget from the remembered id: a widget's own state is dropped on pages
            # that do not show it, the remembered id is not.
            st.session_state[_PICKER_KEY] = chosen
            st.selectbox(
                "Account",
                options=list(by_id),
                format_func=lambda i: f"{by_id[i].name} ({by_id[i].plan.display_name})",
                key=_PICKER_KEY,
                on_change=_remember_choice,
            )
            st.session_state[ACCOUNT_KEY] = chosen
        with st.expander("New account", expanded=not accounts):
            name = st.text_input("Account name", key="desk_new_account_name")
            plan = st.selectbox(
                "Plan",
                options=[p.value for p in Plan],
                format_func=lambda p: Plan(p).display_name,
                key="desk_new_account_plan",
            )
            if st.button("Create account", key="desk_new_account_create"):
                try:
                    created = store.create_account(name, plan, actor=current_actor())
                except AdminError as exc:
                    st.error(text(exc))
                else:
                    st.session_state[ACCOUNT_KEY] = created.id
                    st.rerun()
    if not accounts:
        if not required:
            return None
        st.info("No accounts yet: create one in the sidebar.", icon=":material/arrow_back:")
        st.stop()
    return by_id[st.session_state[ACCOUNT_KEY]]


def show_error(exc: DiagnosticsError) -> None:
    """Bad input or an unreachable service, said plainly; never a traceback on a page. The message
    may repeat what was typed or answered (a domain, a reply): shown as text."""
    st.error(text(exc), icon=":material/error:")


# Material icons render everywhere; emoji depend on the fonts of the viewer's machine.
_ICONS = {
    Severity.ERROR: ":material/error:",
    Severity.WARNING: ":material/warning:",
    Severity.INFO: ":material/info:",
}


def finding_cards(findings: Iterable[Finding]) -> None:
    """One card a finding, errors first, each with its plain-language message."""
    ordered = sorted(findings, key=lambda f: f.severity.rank)
    if not ordered:
        st.success("No problems found.", icon=":material/check_circle:")
        return
    for finding in ordered:
        show = {Severity.ERROR: st.error, Severity.WARNING: st.warning, Severity.INFO: st.info}[
            finding.severity
        ]
        # The term and the message quote DNS records and headers: shown as text. A message
        # that gives a file to publish (an MTA-STS policy) ends with it, on the lines after its
        # first: shown as a block to copy, its lines kept.
        term = md(" — {term!c}", term=finding.term) if finding.term else ""
        message, _, publish = finding.message.partition("\n")
        show(
            md("**{title}**{term}\n\n{message}", title=finding.title, term=term, message=message),
            icon=_ICONS[finding.severity],
        )
        if publish:
            st.code(data(publish), language=None, wrap_lines=True)


def publish_record(record: DnsRecord) -> None:
    """One record to publish: where and why, then its value in a code block with a copy button;
    a template (a value the desk does not know, in angle brackets) is shown as text, marked as
    one, with where to find the value, and offers nothing to copy."""
    # The name and value quote DNS and reports: shown as text, the value as code.
    if record.template:
        st.warning(
            md(
                "**Template, not ready to copy:** {rdtype} at {name!c}: {value!c}\n\n"
                "{why}. Fill in what is in angle brackets: {fill_in}",
                rdtype=record.rdtype,
                name=record.name,
                value=record.value,
                why=record.why,
                fill_in=record.fill_in or "",
            ),
            icon=":material/edit_note:",
        )
        return
    st.caption(
        md("{rdtype} at {name!c}: {why}", rdtype=record.rdtype, name=record.name, why=record.why)
    )
    st.code(data(record.value), language=None, wrap_lines=True)


def diagnosis_card(diagnosis: Diagnosis) -> None:
    """One DMARC source: what it is, its share of the mail, why, how sure, and each fix with the
    exact record(s) to paste (templates marked, with nothing to copy)."""
    # Every value here comes from reports, reverse DNS or today's DNS (the source's name, the
    # domains in the explanation, the records): shown as text, records to paste as code.
    with st.container(border=True):
        st.markdown(
            md(
                "**{source}** · {category} · {share} of the mail ({messages:,} messages)",
                source=diagnosis.source,
                category=diagnosis.category.label,
                share=share_text(diagnosis.share),
                messages=diagnosis.messages,
            )
        )
        st.markdown(text(diagnosis.explanation))
        if diagnosis.evidence.basis:
            st.caption(
                md(
                    "{sure}: {basis}",
                    sure=diagnosis.confidence.label,
                    basis="; ".join(diagnosis.evidence.basis),
                )
            )
        for action in diagnosis.actions:
            st.markdown(
                md("**{title}**: {message}", title=action.code.label, message=action.message)
            )
            # Some fixes need several records (SES custom MAIL FROM: an MX and a TXT); each
            # is shown with its name so it can be pasted as is.
            if action.records:
                for needed in action.records:
                    publish_record(needed)
            elif action.record:
                if action.domain:
                    st.caption(
                        md(
                            "{rdtype} at {domain!c}",
                            rdtype=action.rdtype or "TXT",
                            domain=action.domain,
                        )
                    )
                st.code(data(action.record), language=None, wrap_lines=True)


__all__ = [
    "ACCOUNT_KEY",
    "ACCOUNT_PARAM",
    "account_picker",
    "diagnosis_card",
    "finding_cards",
    "publish_record",
    "show_error",
]
