"""Look-alike domains and oversized values, refused or bounded where a report is read (issue 10,
findings 4 and 10).

- A policy domain is a domain name as receivers use it: IDNA (UTS #46) A-labels; a name holding an
  invisible character (zero-width space, bidirectional override, ...) is refused, with the
  character named by its code point, so `inje\\u200bct.example` never reaches the domain picker.
- Every text field is bounded (diagnostics/dmarc/parse/_bounds.py), with a warning naming the field,
  so a report with a 200 KB org name is stored the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from diagnostics.dmarc import ParseLimits, ReportStore, load_reports, parse_report
from diagnostics.dmarc.parse._aggregate import parse_aggregate_xml
from diagnostics.dmarc.parse._bounds import KEY_BYTES, MAX_DOMAIN, MAX_TEXT, MAX_WORD
from diagnostics.dmarc.parse._columns import RecordColumns
from diagnostics.dmarc.parse._failure import parse_failure_report
from diagnostics.dmarc.parse._tls import parse_tls_report
from diagnostics.errors import InvalidInput, ReportError
from diagnostics.idn import domain_name, unicode_form, with_unicode
from tests.diagnostics.dmarc.conftest import SAMPLES
from tests.diagnostics.dmarc.store.store_fixtures import *  # noqa: F403  (db_url stores)
from tests.support.hostile import hostile_report

ZWSP = "\u200b"
RLO = "\u202e"


def report(domain: str, report_id: str = "r1", org: str = "receiver.example") -> bytes:
    return hostile_report(domain, report_id=report_id, org_name=org)


@pytest.mark.parametrize(
    ("domain", "code_point", "name"),
    [
        (f"inje{ZWSP}ct.example", "U+200B", "ZERO WIDTH SPACE"),
        (f"{RLO}elpmaxe.evil", "U+202E", "RIGHT-TO-LEFT OVERRIDE"),
        ("exa\u2066mple.com", "U+2066", "LEFT-TO-RIGHT ISOLATE"),
        ("soft\u00adhyphen.example", "U+00AD", "SOFT HYPHEN"),
        ("join\u200dme.example", "U+200D", "ZERO WIDTH JOINER"),
        ("\ufeffbom.example", "U+FEFF", "ZERO WIDTH NO-BREAK SPACE"),
    ],
)
def test_a_policy_domain_with_an_invisible_character_is_refused(
    domain: str, code_point: str, name: str
) -> None:
    with pytest.raises(ReportError) as refused:
        parse_report(report(domain))
    reason = str(refused.value)
    assert "policy domain" in reason
    assert f"{code_point} {name}" in reason  # the character, by code point and name
    assert domain not in reason  # the invisible character itself is never repeated
    # UTS #46 alone would have dropped the character and filed the report as another domain.
    with pytest.raises(InvalidInput):
        domain_name(domain)


def test_a_lookalike_never_reaches_the_domain_picker(db_url) -> None:
    store = ReportStore(db_url)
    try:
        summary = store.import_files(
            [report(f"inje{ZWSP}ct.example", "a"), report("inject.example", "b")]
        )
        first, second = summary.files
        assert first.rejected == 1
        assert "U+200B ZERO WIDTH SPACE" in first.reasons[0]
        assert second.imported == 1
        assert list(store.domains()["policy_domain"]) == ["inject.example"]
    finally:
        store.close()


def test_a_unicode_domain_is_stored_as_its_a_label(db_url) -> None:
    store = ReportStore(db_url)
    try:
        summary = store.import_files(
            [report("B\u00fccher.Example.", "u"), report("xn--bcher-kva.example", "a")]
        )
        assert summary.ok, summary.lines()
        # One domain, under the name receivers use; the pages show the Unicode form beside it.
        assert list(store.domains()["policy_domain"]) == ["xn--bcher-kva.example"]
        assert unicode_form("xn--bcher-kva.example") == "b\u00fccher.example"
        assert (
            with_unicode("xn--bcher-kva.example") == "xn--bcher-kva.example (b\u00fccher.example)"
        )
        assert with_unicode("example.com") == "example.com"
    finally:
        store.close()


@pytest.mark.parametrize(
    "bad",
    ["not a domain", "a..b.example", "-x.example", "x" * 300 + ".example", "xn--zz.example", ""],
)
def test_a_policy_domain_that_is_no_domain_is_refused(bad: str) -> None:
    with pytest.raises(ReportError, match=r"policy_published/domain"):
        parse_report(report(bad))


def test_a_failure_report_for_a_lookalike_is_refused() -> None:
    raw = (SAMPLES / "failure" / "dmarc_ruf_report_linkedin.eml").read_bytes()
    assert parse_failure_report(raw, "ok.eml").reported_domain == "example.com"
    hostile = raw.replace(
        b"Reported-Domain: example.com", f"Reported-Domain: inje{ZWSP}ct.example".encode()
    )
    with pytest.raises(ReportError, match=r"U\+200B ZERO WIDTH SPACE"):
        parse_failure_report(hostile, "hostile.eml")
    batch = load_reports([hostile])
    assert batch.failure_reports.empty
    assert len(batch.errors) == 1


def test_a_tls_report_for_a_lookalike_is_refused() -> None:
    document = json.loads((SAMPLES / "smtp_tls" / "rfc8460.json").read_bytes())
    document["policies"][0]["policy"]["policy-domain"] = f"company{ZWSP}-y.example"
    with pytest.raises(ReportError, match=r"U\+200B ZERO WIDTH SPACE"):
        parse_tls_report(json.dumps(document).encode(), "tls.json")
    document["policies"][0]["policy"]["policy-domain"] = "B\u00fccher.example"
    parsed = parse_tls_report(json.dumps(document).encode(), "tls.json")
    assert parsed.policies[0].policy_domain == "xn--bcher-kva.example"


# ---- bounded values ------------------------------------------------------------------------------

# 100 KB: far over every cap, and under the 1 MiB a report may hold between two records.
HUGE = 100_000


def _with(xml: bytes, element: str, value: str, count: int = 1) -> bytes:
    """`xml` with the text of the first `count` `<element>`s replaced by `value`."""
    text = xml.decode()
    start = 0
    for _ in range(count):
        start = text.index(f"<{element}>", start) + len(element) + 2
        end = text.index(f"</{element}>", start)
        text = text[:start] + value + text[end:]
    return text.encode()


def _parse(xml: bytes, *, fast: bool) -> tuple[object, object]:
    columns = RecordColumns()
    meta = parse_aggregate_xml(io.BytesIO(xml), columns, ParseLimits(), head=xml[:8192], fast=fast)
    return meta, columns.to_frame()


@pytest.mark.parametrize("fast", [True, False], ids=["fast path", "general path"])
def test_long_values_are_cut_with_a_warning_naming_the_field(fast: bool) -> None:
    xml = report("example.com")
    xml = _with(xml, "org_name", "O" * HUGE)
    xml = _with(xml, "report_id", "\u00e9" * HUGE)  # two bytes a character
    xml = _with(xml, "extra_contact_info", "c" * HUGE)
    xml = _with(xml, "error", "e" * HUGE)
    xml = _with(xml, "header_from", "h" * HUGE)
    xml = _with(xml, "selector", "s" * HUGE)
    meta, records = _parse(xml, fast=fast)
    assert meta.org_name == "o" * KEY_BYTES or meta.org_name == "O" * KEY_BYTES
    assert len(meta.report_id.encode()) == KEY_BYTES  # whole characters, within the bytes
    assert meta.org_extra_contact_info == "c" * MAX_TEXT
    assert meta.errors == ("e" * MAX_TEXT,)
    assert records["header_from"].iloc[0] == "h" * MAX_DOMAIN
    assert records["dkim_selectors"].iloc[0] == "s" * MAX_TEXT
    warned = "\n".join(meta.warnings)
    for field in ("org_name", "report_id", "extra_contact_info", "an <error>"):
        assert f"{field} was " in warned, warned
    for field in ("header_from", "dkim_selectors"):
        assert f"a record's {field} was " in warned, warned
    assert "100,000" in warned
    assert len(warned) < 3_000  # the warnings name the fields, they do not repeat the values


@pytest.mark.parametrize("fast", [True, False], ids=["fast path", "general path"])
def test_a_long_source_address_is_no_address_and_its_record_is_left_out(fast: bool) -> None:
    whole = _parse(report("example.com"), fast=fast)[1]
    meta, records = _parse(_with(report("example.com"), "source_ip", "9" * HUGE), fast=fast)
    assert len(records) == len(whole) - 1 == meta.record_count
    assert not records["source_ip"].str.startswith("999").any()
    warned = "\n".join(meta.warnings)
    assert "record 1 (source address '" + "9" * MAX_WORD in warned, warned
    assert "(source address not an IP address)" in warned
    assert len(warned) < 3_000


def test_one_cut_value_warns_only_the_reports_that_hold_it() -> None:
    long = _with(report("example.com", "long"), "header_from", "h" * HUGE)
    short = report("example.com", "short")
    batch = load_reports([long, short, long.replace(b">long<", b">again<")])
    warnings = list(batch.reports["warnings"])
    assert ["header_from" in " ".join(w) for w in warnings] == [True, False, True]


def test_a_200kb_org_name_is_stored_the_same_on_sqlite_and_postgresql(
    make_store: Callable[..., ReportStore],
) -> None:
    store = make_store()
    xml = _with(report("example.com"), "org_name", "Receiver " + "\U0001f4e7" * HUGE)
    summary = store.import_files([xml])
    assert summary.ok, summary.lines()
    (stored,) = store.reports().to_dict("records")
    # Four bytes a character: as many whole characters as fit in KEY_BYTES bytes.
    assert stored["org_name"] == "Receiver " + "\U0001f4e7" * ((KEY_BYTES - 9) // 4)
    assert "org_name was" in stored["warnings"]
    # The same report again is a duplicate, not a second copy: the cut key is stable.
    again = store.import_files([xml])
    assert again.files[0].duplicates == 1
    assert store.records("example.com")["org_name"].unique().tolist() == [stored["org_name"]]


def test_long_failure_and_tls_fields_are_bounded(caplog: pytest.LogCaptureFixture) -> None:
    raw = (SAMPLES / "failure" / "dmarc_ruf_report_linkedin.eml").read_bytes()
    hostile = raw.replace(b"Feedback-Type: auth-failure", b"Feedback-Type: " + b"f" * HUGE)
    parsed = parse_failure_report(hostile, "long.eml")
    assert parsed.feedback_type == "f" * MAX_TEXT
    assert f"Feedback-Type was {HUGE:,} characters long" in caplog.text
    document = json.loads((SAMPLES / "smtp_tls" / "rfc8460.json").read_bytes())
    document["organization-name"] = "n" * HUGE
    tls = parse_tls_report(json.dumps(document).encode(), "tls.json")
    assert tls.organization_name == "n" * MAX_TEXT


def test_samples_still_read(tmp_path: Path) -> None:
    # Every sample receivers sent names a real domain: none is refused by the stricter check.
    batch = load_reports(SAMPLES / "aggregate")
    refused = [reason for _, reason in batch.errors if "policy_published/domain" in reason]
    assert refused == []
