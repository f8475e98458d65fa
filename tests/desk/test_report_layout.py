"""desk.report_layout: how the DMARC reports page lays out a domain's diagnoses, from diagnoses made
here (no DNS, no page): the kinds that need a fix first, worst first, the largest of each as cards
and the rest as one table; unknown senders in a table of their own; the compliant ones last."""

from __future__ import annotations

import datetime as dt

import pytest
from diagnostics.dmarc.diagnosis import Evidence

from desk.labels import share_text
from desk.report_layout import CARDS_PER_KIND, lay_out
from diagnostics.dmarc import Category, Diagnosis
from diagnostics.findings import Severity

DOMAIN = "bluebird-bakery.example"
NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def diagnosis(
    category: Category,
    source: str,
    messages: int,
    *,
    domain: str = DOMAIN,
    owners: tuple[str, ...] = (),
) -> Diagnosis:
    ip = f"192.0.2.{messages % 250}"
    evidence = Evidence(
        messages=messages,
        ips=((ip, messages),),
        spf_results=(),
        spf_aligned_pass=0,
        dkim_aligned_pass=0,
        dmarc_pass=0,
        dispositions=(),
        envelope_domains=(),
        dkim_domains=(),
        override_reasons=(),
        authorized_today=0,
        recognised_by=None,
        network_owners=owners,
    )
    return Diagnosis(
        domain=domain,
        category=category,
        source=source,
        provider=None,
        ips=(ip,),
        messages=messages,
        share=messages / 1000,
        explanation=f"{source} explained.",
        evidence=evidence,
        actions=(),
        severity=Severity.WARNING,
    )


def test_kinds_in_explains_order_unknown_senders_apart_and_compliant_last() -> None:
    given = [
        diagnosis(Category.SPF_INCLUDE_MISSING, "SendGrid", 400),
        diagnosis(Category.UNAUTHORIZED, "198.51.100.7", 90, owners=("Amazon",)),
        diagnosis(Category.DKIM_MISSING, "Mailgun", 80),
        diagnosis(Category.UNAUTHORIZED, "198.51.100.8", 120),
        diagnosis(Category.COMPLIANT, "TrekMail", 300),
        diagnosis(Category.DKIM_MISSING, "Other domain's", 999, domain="elsewhere.example"),
    ]
    laid = lay_out(given, DOMAIN, NOW)
    assert laid.checked_at == NOW
    assert laid.diagnoses == tuple(given)  # all kept, the page's table of every source reads them
    assert [s.kind for s in laid.sections] == [Category.SPF_INCLUDE_MISSING, Category.DKIM_MISSING]
    assert [d.source for d in laid.sections[1].cards] == ["Mailgun"]  # not the other domain's
    assert laid.failing

    assert laid.spoofers is not None
    spoofers = laid.spoofers.to_pylist()
    assert [row["messages"] for row in spoofers] == [120, 90]  # most messages first
    assert [row["sending IP"] for row in spoofers] == ["192.0.2.120", "192.0.2.90"]
    assert laid.spoofer_messages == 210
    assert laid.spoofer_share == pytest.approx(0.21)

    assert laid.compliant is not None
    assert [d.source for d in laid.compliant.cards] == ["TrekMail"]


def test_the_largest_of_a_kind_are_cards_and_the_rest_one_table() -> None:
    alike = [diagnosis(Category.DKIM_MISSING, f"Sender {n}", 100 - n) for n in range(7)]
    [section] = lay_out(alike, DOMAIN, NOW).sections
    assert [d.source for d in section.cards] == [f"Sender {n}" for n in range(CARDS_PER_KIND)]
    assert section.rest is not None
    rest = section.rest.to_pylist()
    assert [row["source"] for row in rest] == [f"Sender {n}" for n in range(CARDS_PER_KIND, 7)]
    assert rest[0]["share"] == share_text(alike[CARDS_PER_KIND].share)
    assert rest[0]["to do"] == "—"  # no action
    assert section.rest_count == 7 - CARDS_PER_KIND
    assert section.rest_messages == sum(d.messages for d in alike[CARDS_PER_KIND:])


def test_nothing_to_fix_is_not_failing() -> None:
    laid = lay_out([diagnosis(Category.COMPLIANT, "TrekMail", 300)], DOMAIN, NOW)
    assert not laid.failing
    assert laid.sections == ()
    assert laid.spoofers is None
    assert lay_out([], DOMAIN, NOW).compliant is None


def test_a_share_of_the_mail_as_people_say_it() -> None:
    assert share_text(0.004) == "<1%"
    assert share_text(0.0) == "0%"
    assert share_text(0.256) == "26%"
