"""explain() when a domain's MX cannot be read: a mailbox provider's address (Google, Microsoft,
Zoho) failing SPF is then neither "a forward" nor "a missing include" but "undetermined", and the
explanation names the MX look-up that failed. An answer with no MX (no record, no such name) is an
answer: the address stays a forward. The scenario corpus holds the plain cases
(gmail_mx_timeout_undetermined, microsoft365_mx_servfail_undetermined,
gmail_forwarder_domain_without_mx); these are the subdomain and look-up cases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import yaml

from diagnostics.dmarc import ActionCode, Category, explain
from diagnostics.dmarc.explain._sources import mailbox_hosting
from tests.diagnostics.dmarc.conftest import record_row
from tests.support.nameserver import LoopbackNameserver

PROVIDER_ZONE = yaml.safe_load(
    (Path(__file__).parents[3] / "scenarios" / "_providers.yaml").read_text()
)
Start = Callable[..., LoopbackNameserver]
GOOGLE_IP = "209.85.220.41"  # in _spf.google.com's networks (_providers.yaml)


_row = record_row


def test_mailbox_hosting_tells_a_failed_look_up_from_an_answer(nameserver: Start) -> None:
    server = nameserver(
        {
            "google.example": {"MX": ["1 aspmx.l.google.com"]},
            "slow.example": {"A": ["192.0.2.1"], "MX": "TIMEOUT"},
            "broken.example": {"CNAME": ["loop.example"]},
            "loop.example": {"CNAME": ["broken.example"]},
            "nomx.example": {"A": ["192.0.2.2"]},
        }
    )
    resolver = server.resolver()

    hosting = mailbox_hosting(["google.example", "slow.example"], resolver)
    assert hosting.mailboxes == frozenset({"google-workspace"})
    assert hosting.unreadable == ("slow.example",)

    assert mailbox_hosting(["broken.example"], resolver).unreadable == ("broken.example",)
    # No MX record, no such name: answers, so nothing is left open.
    answered = mailbox_hosting(["nomx.example", "absent.example"], resolver)
    assert answered.mailboxes == frozenset()
    assert answered.unreadable == ()


def test_a_subdomain_whose_organisation_mx_fails_is_undetermined(nameserver: Start) -> None:
    # news.example.com has no MX of its own (an answer); example.com's would tell, and times out.
    server = nameserver(
        {
            **PROVIDER_ZONE,
            "news.example.com": {"TXT": ["v=spf1 include:spf.trekmail.net -all"]},
            "example.com": {"MX": "TIMEOUT"},
        }
    )
    records = pd.DataFrame([_row(GOOGLE_IP, 55, "news.example.com")])

    [found] = explain(records, resolver=server.resolver())

    assert found.category is Category.UNDETERMINED
    assert found.source == "Google Workspace"
    assert found.evidence.mx_unreadable == ("example.com",)
    assert found.evidence.to_dict()["mx_unreadable"] == ["example.com"]
    assert "could not read the MX record of example.com" in found.explanation
    assert "news.example.com's SPF record lacks Google Workspace's include" in found.explanation
    codes = [a.code for a in found.actions]
    assert codes[0] is ActionCode.NO_ACTION
    assert ActionCode.ADD_SPF_INCLUDE not in codes
    assert "neither add Google Workspace's include" in found.actions[0].message


def test_the_organisation_mx_naming_google_outranks_a_failed_subdomain_look_up(
    nameserver: Start,
) -> None:
    server = nameserver(
        {
            **PROVIDER_ZONE,
            "news.example.com": {"TXT": ["v=spf1 include:spf.trekmail.net -all"], "MX": "TIMEOUT"},
            "example.com": {"MX": ["1 aspmx.l.google.com"]},
        }
    )
    records = pd.DataFrame([_row(GOOGLE_IP, 55, "news.example.com")])

    [found] = explain(records, resolver=server.resolver())

    assert found.category is Category.SPF_INCLUDE_MISSING
    assert found.evidence.mx_unreadable == ()
    assert found.actions[0].record == (
        "v=spf1 include:spf.trekmail.net include:_spf.google.com -all"
    )


def test_an_undetermined_mailbox_provider_is_not_written_into_a_repaired_record(
    nameserver: Start,
) -> None:
    # Two SPF records (permerror): the merged record keeps the providers seen sending. Google,
    # whose hosting could not be told, must not be slipped in on a guess.
    server = nameserver(
        {
            **PROVIDER_ZONE,
            "example.com": {
                "TXT": ["v=spf1 include:spf.trekmail.net -all", "v=spf1 include:sendgrid.net -all"],
                "MX": "TIMEOUT",
            },
        }
    )
    records = pd.DataFrame(
        [
            _row("203.0.113.30", 70, "example.com", spf_result="permerror"),
            _row(GOOGLE_IP, 14, "example.com", spf_result="softfail"),
        ]
    )

    found = {d.source: d for d in explain(records, resolver=server.resolver())}

    assert found["Google Workspace"].category is Category.UNDETERMINED
    fix = found["TrekMail managed sending"].actions[0]
    assert fix.code is ActionCode.FIX_SPF_RECORD
    assert fix.record is not None
    assert "_spf.google.com" not in fix.record
