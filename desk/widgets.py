"""Pieces every page shares: the app's DNS resolver and how findings are shown."""

from __future__ import annotations

import os
from collections.abc import Iterable

import streamlit as st

from desk.markdown import data, md, text
from diagnostics.dmarc import Diagnosis
from diagnostics.dns import Resolver, parse_nameserver
from diagnostics.errors import DiagnosticsError
from diagnostics.findings import Finding, Severity

# DESK_NAMESERVER=HOST[:PORT] points every look-up the app makes at one nameserver (a company resolver,
# or the loopback nameserver of the end-to-end tests); unset means the system's configuration.
NAMESERVER_ENV = "DESK_NAMESERVER"
DNS_TIMEOUT_ENV = "DESK_DNS_TIMEOUT"


def dns_settings() -> tuple[str, str]:
    """(DESK_NAMESERVER, DESK_DNS_TIMEOUT) as set, stripped: all app_resolver is built from, so a
    result kept across runs can be keyed by it."""
    return os.environ.get(NAMESERVER_ENV, "").strip(), os.environ.get(DNS_TIMEOUT_ENV, "").strip()


def app_resolver() -> Resolver:
    """A fresh resolver for one page run: its cache serves that run and is never shared between users."""
    spec, timeout_setting = dns_settings()
    timeout = float(timeout_setting or "3.0")
    if spec:
        host, port = parse_nameserver(spec)
        return Resolver([host], port=port, timeout=timeout)
    return Resolver(timeout=timeout)


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
        title = finding.code.replace("_", " ")
        # The term and the message quote DNS records and headers: shown as text.
        term = md(" — {term!c}", term=finding.term) if finding.term else ""
        show(
            md("**{title}**{term}\n\n{message}", title=title, term=term, message=finding.message),
            icon=_ICONS[finding.severity],
        )


ACTION_TITLES = {
    "add_spf_include": "Add the SPF include",
    "custom_return_path": "Set up a custom return path",
    "setup_dkim": "Set up DKIM",
    "fix_spf_record": "Fix the SPF record",
    "no_action": "No action",
    "tighten_policy": "Tighten the DMARC policy",
}


def share_text(share: float) -> str:
    """A share of the mail as people say it: "<1 %" rather than a misleading "0 %"."""
    return "<1%" if 0 < share < 0.005 else f"{share:.0%}"


def diagnosis_card(diagnosis: Diagnosis) -> None:
    """One DMARC source: what it is, its share of the mail, why, and each fix with the exact
    record(s) to paste."""
    # Every value here comes from reports, reverse DNS or today's DNS (the source's name, the
    # domains in the explanation, the records): shown as text, records to paste as code.
    with st.container(border=True):
        st.markdown(
            md(
                "**{source}** · {category} · {share} of the mail ({messages:,} messages)",
                source=diagnosis.source,
                category=diagnosis.category.value.replace("_", " "),
                share=share_text(diagnosis.share),
                messages=diagnosis.messages,
            )
        )
        st.markdown(text(diagnosis.explanation))
        for action in diagnosis.actions:
            title = ACTION_TITLES.get(action.code.value, action.code.value)
            st.markdown(md("**{title}**: {message}", title=title, message=action.message))
            # Some fixes need several records (SES custom MAIL FROM: an MX and a TXT); each
            # is shown with its name so it can be pasted as is.
            if action.records:
                for needed in action.records:
                    st.caption(
                        md(
                            "{rdtype} at {name!c}: {why}",
                            rdtype=needed.rdtype,
                            name=needed.name,
                            why=needed.why,
                        )
                    )
                    st.code(data(needed.value), language=None, wrap_lines=True)
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
