"""explain() beyond the scenario corpus: live DNS changes, cost, real parsed reports, bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from diagnostics import providers
from diagnostics.dmarc import Category, explain, load_reports, readiness
from diagnostics.dmarc.explain import DmarcPolicy
from diagnostics.dmarc.explain._actions import custom_return_path
from diagnostics.dmarc.explain._categories import Signals, classify
from diagnostics.dmarc.explain._policy import next_policy
from diagnostics.dmarc.record import check_dmarc
from diagnostics.errors import InvalidInput
from tests.diagnostics.dmarc.conftest import SAMPLES, record_row
from tests.support.nameserver import LoopbackNameserver

PROVIDER_ZONE = yaml.safe_load(
    (Path(__file__).parents[3] / "scenarios" / "_providers.yaml").read_text()
)
Start = Callable[..., LoopbackNameserver]


_row = record_row


def test_still_failing_then_already_fixed_after_the_record_changes(nameserver: Start) -> None:
    records = pd.DataFrame([_row("167.89.3.3", 40)])
    before = nameserver({**PROVIDER_ZONE, "example.com": {"TXT": ["v=spf1 -all"]}})
    [failing] = explain(records, resolver=before.resolver())
    assert failing.category is Category.SPF_INCLUDE_MISSING
    assert "still failing" in failing.explanation
    assert failing.already_fixed == 0
    assert failing.actions[0].record == "v=spf1 include:spf.trekmail.net include:sendgrid.net -all"

    after = nameserver({**PROVIDER_ZONE, "example.com": {"TXT": [failing.actions[0].record]}})
    [fixed] = explain(records, resolver=after.resolver())
    assert fixed.category is Category.COMPLIANT
    assert fixed.already_fixed == 40
    assert "Already fixed" in fixed.explanation
    assert fixed.evidence.authorized_today == 40
    # The report itself still says what the receiver saw.
    assert dict(fixed.evidence.spf_results) == {"fail": 40}


def test_dns_questions_do_not_grow_with_the_number_of_rows(nameserver: Start) -> None:
    server = nameserver({**PROVIDER_ZONE, "example.com": {"TXT": ["v=spf1 -all"]}})
    ips = [f"167.89.4.{i}" for i in range(1, 40)] + [f"198.51.100.{i}" for i in range(1, 40)]
    small = pd.DataFrame([_row(ip, 1) for ip in ips])
    large = pd.DataFrame([_row(ip, 1) for ip in ips * 200])
    counts = []
    for frame in (small, large):
        resolver = server.resolver()
        found = explain(frame, resolver=resolver)
        counts.append(resolver.queries_sent)
        assert sum(d.messages for d in found) == len(frame)
    assert counts[0] == counts[1]
    assert counts[0] < 40  # one compile per provider include and per envelope domain, not per IP


def test_parsed_sample_reports_are_explained_whole(nameserver: Start) -> None:
    batch = load_reports(sorted((SAMPLES / "aggregate").iterdir()))
    records = batch.records
    assert len(records) > 0
    found = explain(records, resolver=nameserver({}).resolver())
    assert sum(d.messages for d in found) == int(records["count"].sum())
    for domain in {d.domain for d in found}:
        assert sum(d.share for d in found if d.domain == domain) == pytest.approx(1.0)
    for diagnosis in found:
        assert diagnosis.actions
        assert diagnosis.explanation
        json.dumps(diagnosis.to_dict())  # plain values only: pages and the CLI print it


def test_shares_are_per_domain_and_ipv6_sources_work(nameserver: Start) -> None:
    server = nameserver(
        {
            **PROVIDER_ZONE,
            "example.com": {"TXT": ["v=spf1 include:spf.trekmail.net -all"]},
            "example.org": {"TXT": ["v=spf1 ip6:2001:db8:5::/48 -all"]},
        }
    )
    other = {"policy_domain": "example.org", "header_from": "example.org"}
    records = pd.DataFrame(
        [
            _row("203.0.113.4", 30, spf_result="pass", spf_aligned="pass"),
            _row("198.51.100.5", 10, dkim_aligned="fail", dkim_domains="", dkim_results=""),
            _row(
                "2001:db8:5::25", 5, **other, envelope_from="example.org", spf_result="pass",
                spf_aligned="pass", dkim_domains="example.org",
            ),
        ]
    ).astype("category")  # fmt: skip
    found = explain(records, resolver=server.resolver())
    shares = {(d.domain, d.category): d.share for d in found}
    assert shares[("example.com", Category.COMPLIANT)] == pytest.approx(0.75)
    assert shares[("example.com", Category.UNAUTHORIZED)] == pytest.approx(0.25)
    assert shares[("example.org", Category.COMPLIANT)] == pytest.approx(1.0)
    [v6] = [d for d in found if d.domain == "example.org"]
    assert v6.ips == ("2001:db8:5::25",)


def test_bad_input_is_refused_or_empty(nameserver: Start) -> None:
    resolver = nameserver({}).resolver()
    assert explain(pd.DataFrame(columns=["source_ip", "count"]), resolver=resolver) == []
    with pytest.raises(InvalidInput, match="known providers"):
        explain(pd.DataFrame([_row("192.0.2.1", 1)]), resolver=resolver, platform="nope")


def test_missing_columns_are_taken_as_empty(nameserver: Start) -> None:
    records = pd.DataFrame([{"policy_domain": "example.com", "source_ip": "192.0.2.9", "count": 3}])
    [only] = explain(records, resolver=nameserver({}).resolver())
    assert only.category is Category.UNAUTHORIZED
    assert only.messages == 3


def _signals(**changes: Any) -> Signals:
    base: dict[str, Any] = dict(
        spf_aligned=False,
        dkim_aligned=False,
        spf_result="fail",
        own_envelope=True,
        authorized_today=False,
        provider="sendgrid",
        return_path=True,
        unaligned_dkim_pass=False,
    )
    return Signals(**(base | changes))


@pytest.mark.parametrize(
    ("changes", "category"),
    [
        ({}, Category.SPF_INCLUDE_MISSING),
        ({"authorized_today": True, "dkim_aligned": True}, Category.COMPLIANT),
        ({"authorized_today": True}, Category.SPF_ONLY),
        ({"override_reasons": frozenset({"forwarded"})}, Category.FORWARDED),
        ({"spf_result": "permerror"}, Category.SPF_BROKEN),
        ({"spf_result": "permerror", "authorized_today": True}, Category.SPF_ONLY),
        ({"provider": None}, Category.UNAUTHORIZED),
        ({"provider": None, "dkim_aligned": True}, Category.FORWARDED),
        ({"provider": None, "service_type": "Email Provider"}, Category.FORWARDED),
        ({"own_envelope": False, "spf_result": "pass"}, Category.SPF_NOT_ALIGNED),
        (
            {"own_envelope": False, "spf_result": "pass", "return_path": False},
            Category.DKIM_MISSING,
        ),
        ({"own_envelope": False, "unaligned_dkim_pass": True}, Category.DKIM_NOT_ALIGNED),
        ({"own_envelope": False, "spf_result": "pass", "dkim_aligned": True}, Category.DKIM_ONLY),
    ],
)
def test_classify_order(changes: dict[str, Any], category: Category) -> None:
    assert classify(_signals(**changes)) is category


@pytest.mark.parametrize(
    ("policy", "pct", "tags", "record"),
    [
        ("none", 100, (("v", "DMARC1"), ("p", "none"), ("rua", "mailto:a@x.example")),
         "v=DMARC1; p=quarantine; rua=mailto:a@x.example"),
        ("quarantine", 30, (("v", "DMARC1"), ("p", "quarantine"), ("pct", "30")),
         "v=DMARC1; p=quarantine"),
        ("quarantine", 100, (("v", "DMARC1"), ("p", "quarantine"), ("sp", "none")),
         "v=DMARC1; p=reject; sp=none"),
        (None, 100, (), "v=DMARC1; p=quarantine"),
    ],
)  # fmt: skip
def test_next_policy_keeps_other_tags(
    policy: str | None, pct: int, tags: tuple[tuple[str, str], ...], record: str
) -> None:
    step = next_policy(DmarcPolicy("x.example", None, policy, pct, tags))
    assert step is not None
    assert step[0] == record


def test_no_step_past_reject() -> None:
    assert next_policy(DmarcPolicy("x.example", "v=DMARC1; p=reject", "reject", 100)) is None


def test_providers_without_a_return_path_get_none() -> None:
    assert custom_return_path(providers.get("mailgun"), "example.com") is None
    assert custom_return_path(providers.get("mailjet"), "example.com") is None
    ses = custom_return_path(providers.get("ses"), "example.com")
    assert ses is not None
    # No region known: marked as a template in words, never a REGION that looks like a value.
    assert ses.record == "10 feedback-smtp.<your Amazon SES region>.amazonses.com"
    assert ses.template
    assert "REGION" not in ses.message
    assert "fill in what is in angle brackets" in ses.message
    assert "email-smtp.<region>.amazonaws.com" in ses.message
    exact = custom_return_path(providers.get("ses"), "example.com", "eu-west-1")
    assert exact is not None
    assert exact.record == "10 feedback-smtp.eu-west-1.amazonses.com"
    assert not exact.template


def test_public_names() -> None:
    import diagnostics.dmarc as dmarc

    wanted = {"explain", "Diagnosis", "Evidence", "Action", "ActionCode", "Category", "readiness"}
    assert wanted <= set(dmarc.__all__)
    assert {c.value for c in dmarc.Category} == {
        "compliant", "dkim_only", "spf_only", "spf_include_missing", "spf_not_aligned",
        "dkim_not_aligned", "dkim_missing", "forwarded", "unauthorized", "spf_broken",
        "undetermined",
    }  # fmt: skip
    assert {c.value for c in dmarc.ActionCode} == {
        "add_spf_include", "custom_return_path", "setup_dkim", "fix_spf_record", "no_action",
        "tighten_policy",
    }  # fmt: skip


def test_a_source_ip_that_is_not_an_address_is_its_own_unknown_source(nameserver: Start) -> None:
    server = nameserver({**PROVIDER_ZONE, "example.com": {"TXT": ["v=spf1 -all"]}})
    records = pd.DataFrame([_row("not-an-ip", 2), _row("167.89.3.3", 5)])
    found = {d.source: d for d in explain(records, resolver=server.resolver())}
    assert found["not-an-ip"].category is Category.FORWARDED  # DKIM aligned, nobody's address
    assert found["SendGrid"].category is Category.SPF_INCLUDE_MISSING


def test_records_read_back_from_the_store_explain_like_the_parsed_ones(
    tmp_path: Path, nameserver: Start
) -> None:
    from sqlalchemy.engine import URL

    from diagnostics.dmarc.store import ReportStore

    batch = load_reports(sorted((SAMPLES / "aggregate").iterdir()))
    store = ReportStore(URL.create("sqlite", database=str(tmp_path / "desk.sqlite")))
    try:
        store.import_batch(batch)
        stored = store.records()
    finally:
        store.close()
    resolver = nameserver({}).resolver()

    def summary(frame: pd.DataFrame) -> set[tuple[str, str, str, int]]:
        return {
            (d.domain, d.source, d.category.value, d.messages)
            for d in explain(frame, resolver=resolver)
        }

    # The store keeps one copy of a report sent twice (same org, id and domain): so does the
    # comparison.
    duplicate = batch.reports.duplicated(["org_name", "report_id", "policy_domain"], keep="first")
    kept = batch.records[~batch.records["report_index"].isin(batch.reports.index[duplicate])]
    assert summary(stored) == summary(kept)


def test_no_dmarc_record_in_dns_asks_for_one_before_any_tightening(nameserver: Start) -> None:
    # The reports say p=quarantine (they were written when a record was there); DNS has none now.
    # Tightening to a record written from p= alone (no rua=) would stop the reports: the answer
    # is the record to start with, the one the DMARC check gives, and no policy step.
    server = nameserver({**PROVIDER_ZONE, "example.com": {"TXT": ["v=spf1 -all"]}})
    records = pd.DataFrame(
        [_row("203.0.113.4", 9, spf_result="pass", spf_aligned="pass", policy_p="quarantine")]
    )
    [only] = explain(records, resolver=server.resolver())
    assert "tighten_policy" not in only.action_codes
    state = readiness("example.com", [only], resolver=server.resolver(), fallback="quarantine")
    assert not state.ready
    assert state.record is None
    check = check_dmarc("example.com", resolver=server.resolver())
    [finding] = [f for f in check.findings if f.code == "no_record"]
    start = "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com"
    assert start in state.message
    assert start in finding.message
