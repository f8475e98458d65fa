"""The Overview's "Reports to the desk": the exact DMARC record a customer publishes so that
receivers send their aggregate reports to the desk's report addresses (DESK_REPORT_ADDRESSES), and
the RFC 7489 7.1 record the report domain publishes when it is not the customer's.

    rua_section(health.dmarc_check, app_config().reports.addresses)

The advice is the library's (diagnostics.intake.rua.rua_advice_for), from the record the page's
DNS check already read: every tag and address of the customer's record is kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from desk.markdown import data, md
from desk.widgets import show_error
from diagnostics import DiagnosticsError
from diagnostics.dmarc.record import DmarcCheck
from diagnostics.intake.rua import RuaAdvice, rua_advice_for

__all__ = ["rua_section"]


def rua_section(check: DmarcCheck | None, addresses: Sequence[str]) -> None:
    """The record to publish (copyable, filled in), or that nothing needs to change."""
    if check is None:
        return
    st.markdown("**DMARC reports to the desk**")
    if not addresses:
        st.caption(
            "No report address is configured (DESK_REPORT_ADDRESSES), so the desk cannot say "
            "which rua= sends this domain's reports to it."
        )
        return
    try:
        advice = rua_advice_for(check, addresses)
    except DiagnosticsError as exc:  # a record the desk cannot rewrite: said, not guessed
        show_error(exc)
        return
    _advice(advice)


def _advice(advice: RuaAdvice) -> None:
    # The record and the tag quote what the domain publishes (DNS): shown as text, or as code.
    if advice.already:
        st.success(
            md(
                "{name} already sends its aggregate reports to the desk: {tag!c}",
                name=advice.record_name,
                tag=advice.tag,
            ),
            icon=":material/check_circle:",
        )
    elif advice.record is not None:
        verb = "change the TXT record" if advice.current else "publish a TXT record"
        st.markdown(
            md(
                "So that receivers send its aggregate reports to the desk, {verb} at "
                "**{name!c}** to:",
                verb=verb,
                name=advice.record_name,
            )
        )
        st.code(data(advice.record), language=None, wrap_lines=True)
        if advice.current:
            st.caption(md("It replaces: {current!c}", current=advice.current))
    else:
        st.warning(
            md(
                "The DMARC record at {name!c} could not be read, so no whole record is written "
                "for it. In it, set this tag and keep every other as it is:",
                name=advice.record_name,
            ),
            icon=":material/warning:",
        )
        st.code(data(advice.tag), language=None, wrap_lines=True)
    for auth in advice.authorizations:
        st.markdown(
            md(
                "{report} is outside the customer's domain, so receivers send reports there only "
                "once {report} publishes this record (RFC 7489 section 7.1):",
                report=auth.report_domain,
            )
        )
        st.code(data(auth.line), language=None, wrap_lines=True)
        st.caption(
            md(
                "Or, once for every customer: {wildcard!c} TXT {value!c}.",
                wildcard=auth.wildcard,
                value=f'"{auth.value}"',
            )
        )
