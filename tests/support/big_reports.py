"""Large DMARC aggregate reports written at test time: a receiver's daily report of many senders,
as a big mailbox provider sends for a bulk sender (too large for the repository's samples)."""

from __future__ import annotations

from pathlib import Path

BEGIN = 1_763_942_400  # a UTC midnight


def write_aggregate(
    path: Path,
    records: int,
    *,
    domain: str = "bulk.example",
    report_id: str = "big-1",
    org: str = "bigreceiver.example",
) -> Path:
    """One aggregate report of `records` rows, each from its own address (so the rollup cannot
    shrink it) and each counting one message; DKIM passes on every other one."""
    head = (
        '<?xml version="1.0"?><feedback><report_metadata>'
        f"<org_name>{org}</org_name><email>dmarc@{org}</email><report_id>{report_id}</report_id>"
        f"<date_range><begin>{BEGIN}</begin><end>{BEGIN + 86_399}</end></date_range>"
        f"</report_metadata><policy_published><domain>{domain}</domain><p>none</p>"
        "</policy_published>\n"
    )
    with path.open("w", encoding="ascii") as out:
        out.write(head)
        for n in range(records):
            dkim = "pass" if n % 2 else "fail"
            out.write(
                f"<record><row><source_ip>10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}</source_ip>"
                f"<count>1</count><policy_evaluated><disposition>none</disposition><dkim>{dkim}"
                "</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>"
                f"{domain}</header_from></identifiers><auth_results><spf><domain>{domain}</domain>"
                "<result>fail</result></spf></auth_results></record>\n"
            )
        out.write("</feedback>\n")
    return path
