"""DMARC aggregate reports for the sample accounts' domains, dated the last few days.

The bundled real samples (samples/dmarc/) are about example.com and years old, so the Overview of a
sample account would say "no reports in the last 30 days". These demo reports give each sample
account the situation its SMTP settings describe, as receivers would report it:

- Bluebird Bakery relays through SendGrid, and its SPF lacks SendGrid's include (the seed's case):
  SPF fails, DKIM (SendGrid's domain authentication) carries DMARC; plus a spoofer.
- Harbor & Pine sends through Amazon SES on SES's own MAIL FROM domain and signs with SES's d=:
  SPF and DKIM pass but neither aligns, so DMARC fails.

Pure: `sample_reports(today)` returns (file name, XML bytes), `sample_report_files(today)` the
same as named in-memory files (what an import takes); the report ids are fixed per day,
so importing them again is a duplicate, never a second copy.
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
from dataclasses import dataclass

__all__ = ["sample_report_files", "sample_reports"]

DAYS = 3


@dataclass(frozen=True)
class _Row:
    ip: str
    count: int
    envelope: str
    spf: str  # the raw SPF result
    spf_aligned: str
    dkim_domain: str | None
    dkim_selector: str | None
    dkim: str | None
    dkim_aligned: str

    def xml(self, header_from: str) -> str:
        dmarc_pass = "pass" in (self.spf_aligned, self.dkim_aligned)
        disposition = "none" if dmarc_pass else "quarantine"
        dkim = (
            f"<dkim><domain>{self.dkim_domain}</domain><selector>{self.dkim_selector}</selector>"
            f"<result>{self.dkim}</result></dkim>"
            if self.dkim_domain
            else ""
        )
        return (
            f"<record><row><source_ip>{self.ip}</source_ip><count>{self.count}</count>"
            f"<policy_evaluated><disposition>{disposition}</disposition>"
            f"<dkim>{self.dkim_aligned}</dkim><spf>{self.spf_aligned}</spf></policy_evaluated>"
            f"</row><identifiers><header_from>{header_from}</header_from>"
            f"<envelope_from>{self.envelope}</envelope_from></identifiers>"
            f"<auth_results>{dkim}<spf><domain>{self.envelope}</domain>"
            f"<result>{self.spf}</result></spf></auth_results></record>"
        )


# Addresses inside the providers' published ranges (SendGrid 167.89.0.0/17, SES 54.240.0.0/18);
# the spoofer sits in a documentation range.
_BAKERY = "bluebird-bakery.example"
_HARBOR = "harborandpine.example"
_ROWS: dict[str, list[_Row]] = {
    _BAKERY: [
        _Row("167.89.12.34", 180, _BAKERY, "fail", "fail", _BAKERY, "s1", "pass", "pass"),
        _Row("167.89.12.35", 95, _BAKERY, "fail", "fail", _BAKERY, "s1", "pass", "pass"),
        _Row("198.51.100.77", 12, _BAKERY, "fail", "fail", None, None, None, "fail"),
    ],
    _HARBOR: [
        _Row(
            "54.240.8.21",
            420,
            "eu-west-1.amazonses.com",
            "pass",
            "fail",
            "amazonses.com",
            "ug7nbtf4gccmlpwj322ax3p6ow6yfsug",
            "pass",
            "fail",
        ),
    ],
}
_RECEIVERS = (
    ("google.com", "noreply-dmarc-support@google.com"),
    ("Outlook.com", "dmarc@mail.outlook.com"),
)


def sample_reports(today: dt.date) -> list[tuple[str, bytes]]:
    """One report a receiver a day for each sample domain, for the `DAYS` days before `today`."""
    reports: list[tuple[str, bytes]] = []
    for back in range(1, DAYS + 1):
        day = today - dt.timedelta(days=back)
        begin = calendar.timegm(day.timetuple())
        end = begin + 86_399
        for receiver, email in _RECEIVERS:
            for domain, rows in _ROWS.items():
                # Each receiver sees about half of the mail; which half differs by day.
                share = [r for i, r in enumerate(rows) if (i + back + len(receiver)) % 2 == 0]
                share = share or rows[:1]
                report_id = f"demo-{receiver.lower()}-{domain}-{day.isoformat()}"
                xml = _report(receiver, email, report_id, begin, end, domain, share)
                reports.append((f"{receiver}!{domain}!{begin}!{end}.xml", xml.encode()))
    return reports


def sample_report_files(today: dt.date) -> list[io.BytesIO]:
    """`sample_reports(today)` as named in-memory files, ready for `ReportStore.import_files`
    (the name shows in import summaries)."""
    files = []
    for name, data in sample_reports(today):
        handle = io.BytesIO(data)
        handle.name = name
        files.append(handle)
    return files


def _report(
    receiver: str,
    email: str,
    report_id: str,
    begin: int,
    end: int,
    domain: str,
    rows: list[_Row],
) -> str:
    records = "".join(row.xml(domain) for row in rows)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feedback>'
        f"<report_metadata><org_name>{receiver}</org_name><email>{email}</email>"
        f"<report_id>{report_id}</report_id>"
        f"<date_range><begin>{begin}</begin><end>{end}</end></date_range></report_metadata>"
        f"<policy_published><domain>{domain}</domain><adkim>r</adkim><aspf>r</aspf>"
        "<p>none</p><sp>none</sp><pct>100</pct></policy_published>"
        f"{records}</feedback>\n"
    )
