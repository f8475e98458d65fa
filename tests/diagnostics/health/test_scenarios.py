"""The health check's new parts, one YAML scenario a case (tests/scenarios/health/, see its README):
the loopback nameserver serves the zone, an HTTPS server with a trustme certificate serves the
files, aiosmtpd servers are the MX hosts; each part's status and exact finding codes are checked."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from diagnostics.health import NetworkChecks, TlsReportSummary, check_domain
from tests.diagnostics.health.conftest import load_scenarios
from tests.support.https import HttpsServer, Reply

NEW_PARTS = ("mta_sts", "tls_rpt", "bimi", "mx_tls", "dnssec")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _reply(spec: dict[str, Any]) -> Reply:
    body = spec.get("body", "").encode("utf-8")
    if "size" in spec:
        body = b"x" * int(spec["size"])
    headers = {"Content-Type": spec.get("content_type", "text/plain")}
    if "location" in spec:
        headers["Location"] = spec["location"]
    return Reply(body, int(spec.get("status", 200)), headers, bool(spec.get("slow", False)))


@pytest.mark.parametrize("scenario", load_scenarios())
def test_scenario(
    scenario: dict[str, Any],
    nameserver: Callable[..., Any],
    https_server: Callable[..., HttpsServer],
    mx_hosts: Callable[..., tuple[int, dict[str, str]]],
    health_cafile: str,
) -> None:
    zone: dict[str, Any] = dict(scenario.get("zone") or {})
    routes = {}
    for url, spec in (scenario.get("https") or {}).items():
        parts = urlsplit(url)
        routes[(parts.hostname or "", parts.path)] = _reply(spec or {})
        zone.setdefault(parts.hostname, {"A": "127.0.0.1"})
    names = scenario.get("certificate_names") or sorted({h for h, _ in routes} or {"none.test"})
    https = https_server(routes, names)
    smtp_port = _closed_port()
    if scenario.get("mx"):
        smtp_port, addresses = mx_hosts(scenario["mx"])
        for host, address in addresses.items():
            zone[host] = {"A": address}
    resolver = nameserver(zone).resolver(timeout=1.0)
    network = None
    if scenario.get("network", True):
        network = NetworkChecks(
            timeout=float(scenario.get("network_timeout", 3.0)),
            cafile=health_cafile,
            https_port=https.port,
            smtp_port=smtp_port,
        )
    reports = scenario.get("tls_reports")
    summary = None
    if reports is not None:
        summary = TlsReportSummary(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in reports.items()}
        )
    health = check_domain(
        scenario["domain"], resolver=resolver, tls_reports=summary, network=network
    )
    for name, expected in scenario["expect"].items():
        assert name in NEW_PARTS, name
        part = getattr(health, name)
        status = part.state
        codes = sorted(f.code for f in part.findings)
        assert (status, codes) == (expected["status"], sorted(expected["codes"])), name
        said = "\n".join(f.message for f in part.findings) + "\n" + part.summary
        for text in expected.get("contains", []):
            assert text in said, (name, text, said)
        for text in expected.get("lacks", []):
            assert text not in said, (name, text, said)
