"""The stored SMTP TLS reports reach the health check as a summary (admin.diagnosis): read from a
real report store (SQLite and PostgreSQL), only the last 30 days, sessions under the domain's
MTA-STS policy apart; and the TLS reporting part says they arrive."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from admin.diagnosis import network_checks, tls_report_summary
from diagnostics.config import ChecksConfig, DeskConfig, SmtpConfig
from diagnostics.dmarc import ReportStore
from diagnostics.health import check_domain
from tests.support.nameserver import LoopbackNameserver

DOMAIN = "harbor.example"
TODAY = dt.date(2026, 12, 7)


def tls_report(report_id: str, day: dt.date, policies: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "organization-name": "Receiver Inc.",
        "date-range": {
            "start-datetime": f"{day.isoformat()}T00:00:00Z",
            "end-datetime": f"{day.isoformat()}T23:59:59Z",
        },
        "contact-info": "tls@receiver.example",
        "report-id": report_id,
        "policies": policies,
    }


def policy(kind: str, ok: int, failed: int, failure: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "policy": {"policy-type": kind, "policy-domain": DOMAIN, "mx-host": [f"mx.{DOMAIN}"]},
        "summary": {"total-successful-session-count": ok, "total-failure-session-count": failed},
    }
    if failure:
        item["failure-details"] = [
            {
                "result-type": failure,
                "receiving-mx-hostname": f"mx.{DOMAIN}",
                "failed-session-count": failed,
            }
        ]
    return item


def test_the_summary_of_the_last_30_days(
    db_url: URL, tmp_path: Path, nameserver: Callable[..., LoopbackNameserver]
) -> None:
    reports = [
        tls_report("recent-1", TODAY - dt.timedelta(days=2), [policy("sts", 400, 0)]),
        tls_report(
            "recent-2",
            TODAY - dt.timedelta(days=1),
            [policy("sts", 100, 5, "certificate-expired"), policy("no-policy-found", 7, 0)],
        ),
        # Older than the window: its failures are not today's news.
        tls_report(
            "old", TODAY - dt.timedelta(days=45), [policy("sts", 1, 9, "validation-failure")]
        ),
    ]
    paths = []
    for index, report in enumerate(reports):
        path = tmp_path / f"tls-{index}.json"
        path.write_text(json.dumps(report))
        paths.append(path)
    store = ReportStore(db_url)
    try:
        assert store.import_paths(paths).imported == 3
        summary = tls_report_summary(store, DOMAIN, today=TODAY)
        other = tls_report_summary(store, "elsewhere.example", today=TODAY)
    finally:
        store.close()
    assert (summary.days, summary.reports) == (30, 2)
    assert (summary.successful_sessions, summary.failed_sessions) == (507, 5)
    assert (summary.sts_successful_sessions, summary.sts_failed_sessions) == (500, 5)
    assert summary.failure_types == ("certificate-expired",)
    assert summary.failing_mx_hosts == (f"mx.{DOMAIN}",)
    assert other.reports == 0

    zone = {
        DOMAIN: {"MX": f"10 mx.{DOMAIN}"},
        f"_smtp._tls.{DOMAIN}": {"TXT": f"v=TLSRPTv1; rua=mailto:tls@{DOMAIN}"},
    }
    health = check_domain(
        DOMAIN, providers=[], resolver=nameserver(zone).resolver(timeout=1.0), tls_reports=summary
    )
    assert sorted(f.code for f in health.tls_rpt.findings) == [
        "tls_failures_reported",
        "tls_reports_arriving",
    ]
    assert "2 TLS reports arrived in the last 30 days" in health.tls_rpt.findings[-1].message


def test_network_checks_only_when_configured() -> None:
    assert network_checks(DeskConfig()) is None
    config = DeskConfig(
        smtp=SmtpConfig(timeout=10.0, cafile=Path("/etc/ca.pem")),
        checks=ChecksConfig(timeout=6.0, network=True),
    )
    checks = network_checks(config)
    assert checks is not None
    # Within half the page's limit, so the page's own limit is never the one that ends it.
    assert (checks.timeout, checks.cafile, checks.smtp_port) == (3.0, "/etc/ca.pem", 25)
