"""`python -m diagnostics health --network` and `--tls-reports`: the new parts on the command line,
against a loopback nameserver, a trustme HTTPS server, aiosmtpd MX hosts and a real report store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from diagnostics.cli import main
from diagnostics.dmarc import ReportStore
from tests.admin.test_tls_report_summary import policy, tls_report
from tests.support.https import HttpsServer, Reply

DOMAIN = "example.test"
POLICY = "version: STSv1\nmode: enforce\nmx: *.example.test\nmax_age: 604800\n"


def _setup(
    nameserver: Callable[..., object],
    https_server: Callable[..., HttpsServer],
    mx_hosts: Callable[..., tuple[int, dict[str, str]]],
) -> tuple[str, int, int]:
    port, addresses = mx_hosts({"good.example.test": "valid", "wrong.example.test": "wrong_name"})
    https = https_server(
        {("mta-sts.example.test", "/.well-known/mta-sts.txt"): Reply(POLICY.encode())},
        ["mta-sts.example.test"],
    )
    zone = {
        DOMAIN: {"MX": ["10 good.example.test", "20 wrong.example.test"]},
        f"_mta-sts.{DOMAIN}": {"TXT": "v=STSv1; id=20261201"},
        f"mta-sts.{DOMAIN}": {"A": "127.0.0.1"},
        **{host: {"A": address} for host, address in addresses.items()},
    }
    server = nameserver(zone)
    return server.address, https.port, port  # type: ignore[attr-defined]


def test_network_checks_on_the_command_line(
    nameserver, https_server, mx_hosts, health_cafile, capsys
):
    ns, https_port, smtp_port = _setup(nameserver, https_server, mx_hosts)
    args = ["health", DOMAIN, "--nameserver", ns, "--network", "--cafile", health_cafile,
            "--https-port", str(https_port), "--smtp-port", str(smtp_port),
            "--network-timeout", "3"]  # fmt: skip
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 1
    assert "testing each MX on port" in err
    assert "(each at most 3 s)" in err
    assert "MTA-STS ok       mode enforce, max_age 604800" in out
    assert "MX TLS ERROR    1 of 2 MX hosts: STARTTLS with a valid certificate" in out
    assert "[error] Certificate for another name" in out
    assert "wrong.example.test's certificate is for other-host.example.net" in out

    assert main([*args, "--json"]) == 1
    parts = json.loads(capsys.readouterr().out)["parts"]
    assert parts["mx_tls"]["checked"] is True
    assert sorted(f["code"] for f in parts["mx_tls"]["findings"]) == [
        "certificate_name_mismatch",
        "mx_tls_ok",
    ]
    assert parts["mta_sts"]["status"] == "ok"


def test_without_network_the_parts_say_so(nameserver, https_server, mx_hosts, capsys):
    ns, _, _ = _setup(nameserver, https_server, mx_hosts)
    main(["health", DOMAIN, "--nameserver", ns])
    out = capsys.readouterr().out
    assert "MX TLS not checked not tested: the network checks are off" in out
    assert "[info] Policy not fetched" in out


def test_a_policy_file_to_publish_keeps_its_lines(nameserver, capsys):
    zone = {DOMAIN: {"MX": ["10 mx1.example.test"]}}
    main(["health", DOMAIN, "--nameserver", nameserver(zone).address])
    out = capsys.readouterr().out
    assert "\n      version: STSv1\n      mode: testing\n      mx: mx1.example.test\n" in out


def test_tls_reports_from_the_store(nameserver, tmp_path: Path, capsys):
    import datetime as dt

    today = dt.datetime.now(dt.UTC).date()
    path = tmp_path / "tls.json"
    report = tls_report("r1", today - dt.timedelta(days=1), [policy("sts", 50, 0)])
    report["policies"][0]["policy"]["policy-domain"] = DOMAIN
    path.write_text(json.dumps(report))
    url = f"sqlite:///{tmp_path / 'reports.sqlite'}"
    store = ReportStore(url)
    assert store.import_paths([path]).imported == 1
    store.close()
    zone = {
        DOMAIN: {"MX": ["10 mx1.example.test"]},
        f"_smtp._tls.{DOMAIN}": {"TXT": "v=TLSRPTv1; rua=mailto:tls@example.test"},
    }
    ns = nameserver(zone).address
    main(["health", DOMAIN, "--nameserver", ns, "--tls-reports", "--database", url])
    out = capsys.readouterr().out
    assert "[info] TLS reports arriving" in out
    assert "1 TLS report arrived in the last 30 days: 50 sessions used TLS, 0 failed." in out


def test_a_port_out_of_range_is_a_usage_error(nameserver, capsys):
    ns = nameserver({}).address
    assert main(["health", DOMAIN, "--nameserver", ns, "--network", "--smtp-port", "0"]) == 2
    assert "a port is a number from 1 to 65535" in capsys.readouterr().err
