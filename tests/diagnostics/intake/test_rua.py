"""The rua= a customer publishes to send reports to the desk, and the RFC 7489 7.1 record: the pure
advice, then `python -m diagnostics reports rua` reading the current record from a loopback
nameserver."""

from __future__ import annotations

import json

import pytest

from diagnostics.cli import main
from diagnostics.errors import InvalidInput
from diagnostics.intake.rua import rua_advice

DESK = "dmarc-reports@reports.trekmail.net"


def test_every_tag_and_every_existing_address_is_kept_and_the_desk_added() -> None:
    current = "v=DMARC1; p=quarantine; sp=none; rua=mailto:dmarc@example.com!10m; fo=1; adkim=s"
    advice = rua_advice("Example.COM.", [DESK], current=current)
    assert advice.tag == f"rua=mailto:dmarc@example.com!10m,mailto:{DESK}"
    assert advice.record == (
        f"v=DMARC1; p=quarantine; sp=none; rua=mailto:dmarc@example.com!10m,mailto:{DESK}; "
        "fo=1; adkim=s"
    )
    assert advice.record_name == "_dmarc.example.com"
    assert not advice.already
    [auth] = advice.authorizations
    assert auth.line == 'example.com._report._dmarc.reports.trekmail.net TXT "v=DMARC1"'
    assert auth.wildcard == "*._report._dmarc.reports.trekmail.net"


def test_a_record_without_rua_gets_it_after_the_policy() -> None:
    advice = rua_advice("example.com", [DESK], current="v=DMARC1; p=reject; adkim=r")
    assert advice.record == f"v=DMARC1; p=reject; rua=mailto:{DESK}; adkim=r"


def test_no_record_starts_monitoring_and_an_unknown_one_gets_the_tag_only() -> None:
    fresh = rua_advice("example.com", [DESK])
    assert fresh.record == f"v=DMARC1; p=none; rua=mailto:{DESK}"
    assert fresh.lines()[0] == "Publish the TXT record at _dmarc.example.com to:"
    unknown = rua_advice("example.com", [DESK], current_known=False)
    assert unknown.record is None
    assert unknown.tag == f"rua=mailto:{DESK}"
    assert "keep every other tag as it is" in unknown.lines()[0]


def test_a_report_address_of_the_same_organization_needs_no_authorization() -> None:
    advice = rua_advice("mail.example.co.uk", ["dmarc@reports.example.co.uk"])
    assert advice.authorizations == ()


def test_an_address_already_there_is_not_added_twice() -> None:
    # Domains compare without case (the local part is the mailbox's own business).
    current = "v=DMARC1; p=none; rua=mailto:dmarc-reports@Reports.TrekMail.net"
    again = rua_advice("example.com", [DESK], current=current)
    assert again.already
    assert again.tag == "rua=mailto:dmarc-reports@Reports.TrekMail.net"
    assert "already sends rua reports" in again.lines()[0]
    other = rua_advice("example.com", ["DMARC-Reports@reports.trekmail.net"], current=current)
    assert not other.already


def test_ruf_is_placed_after_rua() -> None:
    advice = rua_advice(
        "example.com", [DESK], current="v=DMARC1; p=none; rua=mailto:a@example.com", kind="ruf"
    )
    assert advice.record == f"v=DMARC1; p=none; rua=mailto:a@example.com; ruf=mailto:{DESK}"


@pytest.mark.parametrize(
    ("domain", "address"),
    [
        ("example", DESK),
        ("exa mple.com", DESK),
        ("example.com", "not-an-address"),
        ("example.com", "a@b.c; p=none"),
    ],
)
def test_bad_input_is_refused_in_plain_words(domain: str, address: str) -> None:
    with pytest.raises(InvalidInput):
        rua_advice(domain, [address])


def test_the_command_reads_the_current_record_from_dns(nameserver, capsys) -> None:
    ns = nameserver(
        {"_dmarc.example.com": {"TXT": ["v=DMARC1; p=quarantine; rua=mailto:d@example.com"]}}
    ).address
    code = main(["reports", "rua", "example.com", "--recipient", DESK, "--nameserver", ns])
    out = capsys.readouterr().out
    assert code == 0
    assert f'"v=DMARC1; p=quarantine; rua=mailto:d@example.com,mailto:{DESK}"' in out
    assert 'example.com._report._dmarc.reports.trekmail.net TXT "v=DMARC1"' in out


def test_the_command_gives_the_tag_only_when_dns_cannot_be_read(nameserver, capsys) -> None:
    ns = nameserver({"_dmarc.example.com": {"TXT": "TIMEOUT"}}).address
    code = main(
        [
            "reports",
            "rua",
            "example.com",
            "--recipient",
            DESK,
            "--nameserver",
            ns,
            "--dns-timeout",
            "0.5",
            "--json",
        ]
    )
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["record"] is None
    assert document["tag"] == f"rua=mailto:{DESK}"


def test_the_command_refuses_a_bad_address_with_one_line(capsys) -> None:
    code = main(["reports", "rua", "example.com", "--recipient", "nobody", "--record", ""])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: 'nobody' is not a report address")
