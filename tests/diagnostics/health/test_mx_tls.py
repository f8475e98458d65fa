"""The MX hosts' STARTTLS tests run at once, each within its own time limit: five MX hosts that
accept the connection and never greet cost one limit, not five (aiosmtpd servers on loopback)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from diagnostics.health import NetworkChecks, check_domain

HOSTS = [f"mx{i}.example.test" for i in range(1, 6)]


def test_silent_mx_hosts_cost_one_time_limit(
    nameserver: Callable[..., Any],
    mx_hosts: Callable[..., tuple[int, dict[str, str]]],
    health_cafile: str,
) -> None:
    port, addresses = mx_hosts(dict.fromkeys(HOSTS, "silent"))
    zone = {
        "example.test": {"MX": [f"{10 * i} {h}" for i, h in enumerate(HOSTS, 1)]},
        **{host: {"A": address} for host, address in addresses.items()},
    }
    resolver = nameserver(zone).resolver(timeout=1.0)
    limit = 0.5
    started = time.monotonic()
    health = check_domain(
        "example.test",
        resolver=resolver,
        network=NetworkChecks(timeout=limit, cafile=health_cafile, smtp_port=port),
    )
    spent = time.monotonic() - started
    assert [f.code for f in health.mx_tls.findings] == ["mx_not_reached"] * 5
    assert health.mx_tls.summary == "no MX host could be reached on port 25"
    # One after the other: 5 x 0.5 s. The margin is for a loaded machine.
    assert spent < 3 * limit, spent
