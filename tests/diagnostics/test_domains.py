"""The organizational domain: one function on one public suffix list, whoever asks."""

from __future__ import annotations

import pandas as pd
import pytest
from publicsuffixlist import PublicSuffixList

from diagnostics import domains
from diagnostics.dmarc import load_reports
from diagnostics.domains import organizational_domain, public_suffix_list, registered_domain
from diagnostics.enrich.offline import base_domain
from tests.diagnostics.dmarc.conftest import SAMPLES

ROOT = SAMPLES.parents[2]


@pytest.mark.parametrize(
    ("name", "org"),
    [
        ("mail.example.co.uk", "example.co.uk"),
        ("a.b.example.com", "example.com"),
        ("example.com", "example.com"),
        ("co.uk", "co.uk"),
        # Case and the final dot of a fully qualified name do not make another domain.
        ("Mail.Example.CO.UK.", "example.co.uk"),
        ("CO.UK.", "co.uk"),
        (" example.com ", "example.com"),
        # Internationalized names keep their form; the list knows both spellings of a suffix.
        ("a.b.xn--55qx5d.cn", "b.xn--55qx5d.cn"),
        ("a.b.公司.cn", "b.公司.cn"),
        ("xn--55qx5d.cn", "xn--55qx5d.cn"),
        ("mail.xn--bcher-kva.de.", "xn--bcher-kva.de"),
        ("MAIL.Bücher.DE", "bücher.de"),
    ],
)
def test_organizational_domain(name: str, org: str) -> None:
    assert organizational_domain(name) == org


@pytest.mark.parametrize(
    ("name", "registered"),
    [
        ("mail.example.co.uk.", "example.co.uk"),
        ("co.uk", None),
        ("xn--55qx5d.cn", None),
        ("", None),
    ],
)
def test_registered_domain_is_none_for_a_public_suffix(name: str, registered: str | None) -> None:
    assert registered_domain(name) == registered


def test_the_list_is_read_once_and_shared() -> None:
    assert public_suffix_list() is public_suffix_list()
    # Nothing else in the library keeps a copy of its own.
    assert not hasattr(domains, "_psl")


def test_the_enrichment_base_domain_agrees_where_no_override_applies() -> None:
    assert base_domain("o1.ptr1234.sendgrid.net.") == organizational_domain(
        "o1.ptr1234.sendgrid.net"
    )
    assert base_domain("co.uk") is None


def test_explain_gets_the_answers_it_got_before_on_every_sample_domain() -> None:
    """`explain` asked `combos.org_domain` (the list's private suffix, else the name as given) of
    the lower-cased names in report rows; on those the shared function answers the same."""
    paths = [*(SAMPLES / "aggregate").iterdir(), *(ROOT / "samples" / "dmarc").glob("*.xml*")]
    records = load_reports(sorted(paths)).records
    names: set[str] = set()
    for column in ("policy_domain", "header_from", "envelope_from", "spf_domain", "dkim_domains"):
        values = records[column].astype(object).dropna() if column in records else pd.Series()
        for value in values:
            names.update(part.strip().lower() for part in str(value).split(",") if part.strip())
    assert len(names) >= 10  # the samples were read
    # Names the desk meets outside the samples: provider envelopes, suffixes, a suffix's own name.
    names |= {"bounces.amazonses.com", "em123.example.co.uk", "co.uk", "com", "xn--55qx5d.cn"}
    before = PublicSuffixList()
    for name in sorted(names):
        assert organizational_domain(name) == (before.privatesuffix(name) or name), name
