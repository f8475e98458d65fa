"""Small DMARC aggregate reports of chosen days and senders, for the support queue's figures (this
week against the four before, new senders, the newest report)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

# (source address, messages, DMARC passes?)
Row = tuple[str, int, bool]


def aggregate_xml(domain: str, begin: datetime, rows: Sequence[Row], *, report_id: str) -> bytes:
    """One receiver's report of `domain` for the day from `begin`: each row's messages pass DMARC
    through aligned DKIM, or fail both SPF and DKIM."""
    start = int(begin.timestamp())
    records = "".join(
        f"<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated>"
        f"<disposition>none</disposition><dkim>{'pass' if ok else 'fail'}</dkim><spf>fail</spf>"
        f"</policy_evaluated></row><identifiers><header_from>{domain}</header_from></identifiers>"
        f"<auth_results><spf><domain>{domain}</domain><result>fail</result></spf></auth_results>"
        "</record>"
        for ip, count, ok in rows
    )
    return (
        '<?xml version="1.0"?><feedback><report_metadata><org_name>receiver.example</org_name>'
        f"<email>dmarc@receiver.example</email><report_id>{report_id}</report_id><date_range>"
        f"<begin>{start}</begin><end>{start + 86_399}</end></date_range></report_metadata>"
        f"<policy_published><domain>{domain}</domain><p>none</p></policy_published>{records}"
        "</feedback>"
    ).encode()
