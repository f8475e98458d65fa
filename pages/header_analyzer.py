"""Header analyzer: paste a received message's headers (or upload the .eml) and read, in plain words,
whether SPF, DKIM and DMARC passed, whether they aligned with the From domain, and if not, why."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from desk.markdown import Markdown, data, md, table, text
from desk.routing import through_the_router
from desk.widgets import finding_cards
from diagnostics.headers import HeaderReport, Method, analyze
from diagnostics.wording import plural

# Any message a mailbox accepts uploads whole (Gmail receives up to 50 MB, Exchange Online 36 MB by
# default): a saved .eml with its attachments, of which only the headers are read.
MAX_UPLOAD_MB = 50
# diagnostics.headers reads at most 64 kB of headers (they are never longer); the help says so.
HEADERS_READ_KB = 64
# An upload is cut to its header block within this many bytes before decoding.
MAX_BYTES = 1_000_000
RESULT_KEY = "header_analyzer_report"
# Outlook's .msg is a binary OLE2 compound file, not text: read as text it is no headers at all.
OUTLOOK_MSG = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def header_block(data: bytes) -> str:
    """The headers of an uploaded message: up to the first blank line, as the analyzer reads them.
    Cut before decoding, so a long body is not counted as headers that were too long to read."""
    head = data[:MAX_BYTES].removeprefix(b"\xef\xbb\xbf").lstrip()
    ends = [i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0]
    return head[: min(ends, default=len(head))].decode("utf-8", errors="replace")


through_the_router()  # before anything is drawn: see desk/routing.py

st.title("Header analyzer")
st.caption(
    "Paste the headers of a message as the recipient received it (in Gmail: Show original; in "
    "Outlook: View message source), or upload the .eml. Nothing is looked up: the verdicts are "
    "the receiver's, the alignment with the From domain is worked out here."
)

pasted = st.text_area(
    "Headers",
    height=220,
    placeholder="Delivered-To: …\nAuthentication-Results: mx.google.com; …\nFrom: …",
)
uploaded = st.file_uploader(
    "…or a message file",
    type=["eml", "txt", "msg"],
    max_upload_size=MAX_UPLOAD_MB,
    help=md(
        "Only the headers are read, up to {kb} kB: the body and attachments of a whole message "
        "are skipped.",
        kb=HEADERS_READ_KB,
    ),
)
if st.button("Analyze", type="primary", icon=":material/manage_search:"):
    if uploaded is not None and uploaded.getvalue().startswith(OUTLOOK_MSG):
        st.session_state.pop(RESULT_KEY, None)
        st.warning(
            "This is an Outlook .msg file, which is not plain text. Paste its headers instead: in "
            "Outlook open the message and choose File → Properties (the **Internet headers** "
            "box); in Outlook on the web, View → View message source.",
            icon=":material/description:",
        )
        st.stop()
    headers = header_block(uploaded.getvalue()) if uploaded is not None else pasted
    if not headers.strip():
        st.warning("Paste the headers or choose a file first.")
        st.stop()
    # Only the analysis stays in the session, not the pasted message.
    st.session_state[RESULT_KEY] = analyze(headers)

report: HeaderReport | None = st.session_state.get(RESULT_KEY)
if report is None:
    st.info("Paste headers and press **Analyze**.", icon=":material/search:")
    st.stop()

# Everything below quotes the message's headers, which its sender wrote: shown as text, the
# names and domains as code.
if not report.readable:
    st.warning(text(report.message), icon=":material/help:")
    st.stop()

show_verdict = st.success if report.dmarc is not None and report.dmarc.passed else st.error
show_verdict(text(report.message), icon=":material/mail:")
st.caption(
    md(
        "From domain {sender!c} · envelope sender domain {envelope!c} · judged by {judge!c}",
        sender=report.from_domain or "(none)",
        envelope=report.envelope_domain or "(none)",
        judge=report.authserv_id or "(not named)",
    )
)
if report.forwarded:
    st.warning(
        "**Forwarded.** The message went through a forwarder or a mailing list on its way: SPF "
        "then checks the forwarder's address, so only DKIM (or ARC) can carry DMARC.",
        icon=":material/forward:",
    )


def _aligned_word(label: str, method: Method) -> str:
    if label == "DMARC":
        return "The From domain"
    if method.aligned is None:
        return "Does not count for DMARC"  # it did not pass, so its domain cannot align
    return "Aligned with From" if method.aligned else "Not aligned with From"


# The page's own badges. The result a receiver wrote goes after the badge, never inside it: a
# directive's label ends at the first "]", even one the value holds.
_NOT_REPORTED = Markdown(":gray-badge[not reported]")
_PASSED = Markdown(":green-badge[:material/check: passed]")
_FAILED = Markdown(":red-badge[:material/close:]")


def method_tile(column: DeltaGenerator, label: str, method: Method | None) -> None:
    with column.container(border=True):
        if method is None or method.result is None:
            st.markdown(md("**{label}** &nbsp; {badge}", label=label, badge=_NOT_REPORTED))
        elif method.passed:
            st.markdown(md("**{label}** &nbsp; {badge}", label=label, badge=_PASSED))
        else:
            st.markdown(
                md(
                    "**{label}** &nbsp; {badge} {result!c}",
                    label=label,
                    badge=_FAILED,
                    result=method.result,
                )
            )
        if method is not None:
            where = ""
            if method.domain:
                template = " {domain!c}" if label == "DMARC" else " for {domain!c}"
                where = md(template, domain=method.domain)
            st.caption(md("{word}{where}", word=_aligned_word(label, method), where=where))
            st.markdown(text(method.explanation))


st.subheader("Verdicts")
for column, (label, method) in zip(
    st.columns(3),
    (("SPF", report.spf), ("DKIM", report.dkim), ("DMARC", report.dmarc)),
    strict=True,
):
    method_tile(column, label, method)

# The tiles already say what each verdict means; the rest (forwarding, ARC, provider hints) here.
said = {m.explanation for m in (report.spf, report.dkim, report.dmarc) if m is not None}
more = [f for f in report.findings if f.message not in said]
if more:
    st.subheader("What else it shows")
    finding_cards(more)

st.subheader("DKIM signatures")
if report.signatures:
    st.dataframe(
        table(
            pd.DataFrame(
                [
                    {
                        "domain (d=)": s.domain,
                        "selector (s=)": s.selector or "",
                        "receiver's result": s.result or "not reported",
                        "aligned (relaxed)": "yes" if s.aligned else "no",
                        "aligned (strict)": "yes" if s.strictly_aligned else "no",
                    }
                    for s in report.signatures
                ]
            )
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.caption("The message carries no DKIM-Signature.")

st.subheader("ARC chain")
arc = report.arc
if arc.instances:
    st.markdown(
        md(
            "**{hops}** sealed it; the last seal says the chain is **{chain}**.",
            hops=plural(arc.instances, "hop"),
            chain=arc.chain or "not stated",
        )
    )
    if arc.first_hop:
        st.caption(
            md("What the first sealer, {hop!c}, saw before any forwarding:", hop=arc.first_hop)
        )
    if arc.first_results:
        st.dataframe(
            table(pd.DataFrame(arc.first_results, columns=["method", "result"])),
            hide_index=True,
        )
else:
    st.caption("No ARC headers: nobody on the way vouched for what they saw.")

with st.expander("Parsed fields"):
    if report.received_spf:
        st.caption("Received-SPF")
        st.code(data(report.received_spf), language=None, wrap_lines=True)
    st.json(data(report.to_dict()))
