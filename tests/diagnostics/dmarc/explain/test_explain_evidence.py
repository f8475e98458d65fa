"""What `explain` rests on beyond the reports: the account's connections and the DKIM selectors
they show; and `selectors_seen`, the selectors health checks for a domain."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from diagnostics.dmarc import Category, Confidence, explain, selectors_seen
from diagnostics.errors import InvalidInput
from tests.support.nameserver import LoopbackNameserver

ZONE = {
    "example.com": {"TXT": ["v=spf1 include:spf.trekmail.net -all"], "MX": ["10 mx.trekmail.net"]},
    "spf.trekmail.net": {"TXT": ["v=spf1 ip4:203.0.113.0/24 -all"]},
    "spf.protection.outlook.com": {"TXT": ["v=spf1 ip4:40.92.0.0/15 ~all"]},
    "amazonses.com": {"TXT": ["v=spf1 ip4:54.240.0.0/18 ~all"]},
}

TOKEN = "r3kdq2ltyckpezmjg4y5clm3f6hjwo2v"


def _records(*rows: dict[str, object]) -> pd.DataFrame:
    base = {"policy_domain": "example.com", "header_from": "example.com", "disposition": "none"}
    return pd.DataFrame([{**base, **row} for row in rows])


RELAY = {
    "source_ip": "40.92.4.20",
    "count": 240,
    "envelope_from": "example.com",
    "spf_result": "fail",
    "spf_aligned": "fail",
    "dkim_aligned": "pass",
    "dkim_domains": "example.com",
    "dkim_selectors": "k1",  # a selector of no provider's convention
    "dkim_results": "pass",
}


def test_a_configured_provider_is_never_called_a_forward(
    nameserver: Callable[..., LoopbackNameserver],
) -> None:
    resolver = nameserver(ZONE).resolver()
    records = _records(RELAY)
    # From the reports alone (a selector no convention names, the MX elsewhere): a forward.
    (alone,) = explain(records, resolver=resolver)
    assert alone.category is Category.FORWARDED
    # The account's connection says it sends through Microsoft 365: its include is missing.
    for evidence in ({"providers": ["microsoft-365"]}, {"hosts": ["SMTP.Office365.com."]}):
        (found,) = explain(records, resolver=resolver, **evidence)
        assert found.category is Category.SPF_INCLUDE_MISSING
        assert found.confidence is Confidence.CERTAIN
        assert found.evidence.basis[0].startswith("the account sends through Microsoft 365")
        document = found.to_dict()
        assert document["confidence"] == "certain"
        assert document["evidence"]["basis"] == list(found.evidence.basis)  # type: ignore[index]


def test_an_unknown_provider_key_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="known providers"):
        explain(_records(RELAY), providers=["nosuch"])


def test_a_host_the_catalogue_does_not_know_is_no_evidence(
    nameserver: Callable[..., LoopbackNameserver],
) -> None:
    resolver = nameserver(ZONE).resolver()
    (found,) = explain(_records(RELAY), hosts=["mail.example.net"], resolver=resolver)
    assert found.category is Category.FORWARDED


def test_selectors_seen_passing_and_aligned_per_provider() -> None:
    records = _records(
        {**RELAY, "dkim_selectors": "selector1", "count": 10},
        {**RELAY, "dkim_selectors": "selector2", "count": 30},
        # SES: its token for the customer's domain, and its own signature (not aligned).
        {
            "source_ip": "54.240.8.30",
            "count": 50,
            "dkim_domains": "example.com,amazonses.com",
            "dkim_selectors": f"{TOKEN},ug7nbtf4gccmlpwj322ax3p6ow6yfsug",
            "dkim_results": "pass,pass",
        },
        # A selector nobody's convention names, from an address no copied network holds.
        {"source_ip": "192.0.2.9", "count": 5, "dkim_domains": "mail.example.com",
         "dkim_selectors": "k1", "dkim_results": "pass"},
        # Failing, or for another domain: not a key that verifies for the customer.
        {"source_ip": "192.0.2.9", "count": 99, "dkim_domains": "example.com",
         "dkim_selectors": "broken", "dkim_results": "fail"},
        {"source_ip": "192.0.2.9", "count": 99, "dkim_domains": "other.example",
         "dkim_selectors": "elsewhere", "dkim_results": "pass"},
        # Another policy domain.
        {"policy_domain": "other.example", "header_from": "other.example", "source_ip": "192.0.2.9",
         "count": 7, "dkim_domains": "other.example", "dkim_selectors": "google",
         "dkim_results": "pass"},
    )  # fmt: skip
    assert selectors_seen(records, "Example.com.") == {
        "microsoft-365": ("selector2", "selector1"),
        "ses": (TOKEN,),
        "": ("k1",),
    }
    assert selectors_seen(records, "other.example") == {"google-workspace": ("google",)}
    assert selectors_seen(records.iloc[0:0], "example.com") == {}
