"""Every sample is read into the right table, with the quirks real receivers produce handled."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from diagnostics.dmarc import RECORD_COLUMNS, ReportBatch, load_reports, parse_report
from diagnostics.errors import ReportError
from tests.diagnostics.dmarc.conftest import (
    AGGREGATE_SAMPLES,
    FAILURE_SAMPLES,
    SAMPLES,
    TLS_SAMPLES,
)


@pytest.fixture(scope="module")
def everything() -> ReportBatch:
    return load_reports(SAMPLES)


def test_every_sample_lands_in_a_table_or_in_errors(everything: ReportBatch) -> None:
    sources = set(everything.reports["source"])
    rejected = {name for name, _ in everything.errors}
    for path in AGGREGATE_SAMPLES:
        assert any(s.startswith(str(path)) for s in sources), path.name
    failure_sources = set(everything.failure_reports["source"])
    for path in FAILURE_SAMPLES:
        assert any(s.startswith(str(path)) for s in failure_sources), path.name
    tls_sources = set(everything.tls_reports["source"])
    for path in TLS_SAMPLES:
        assert any(s.startswith(str(path)) for s in tls_sources), path.name
    # Only the non-report files are rejected, each with a reason a person understands.
    assert rejected == {
        str(SAMPLES / "empty.xml"),
        str(SAMPLES / "LICENSE"),
        str(SAMPLES / "SOURCE.md"),
    }
    reasons = dict(everything.errors)
    assert reasons[str(SAMPLES / "empty.xml")] == "the file is empty"
    assert "not a report" in reasons[str(SAMPLES / "LICENSE")]


def test_records_table_has_the_promised_columns_and_types(everything: ReportBatch) -> None:
    records = everything.records
    assert tuple(records.columns[: len(RECORD_COLUMNS)]) == RECORD_COLUMNS
    assert str(records["begin"].dtype) == "datetime64[ns, UTC]"
    assert str(records["end"].dtype) == "datetime64[ns, UTC]"
    assert records["count"].dtype == "int64"
    assert str(records["policy_pct"].dtype) == "Int64"
    for column in ("source_ip", "disposition", "header_from", "dkim_results", "org_name"):
        assert isinstance(records[column].dtype, pd.CategoricalDtype)
    # Each record points at its report; the reports table's counts add up to the records table.
    per_report = records.groupby("report_index").size()
    assert per_report.tolist() == everything.reports["record_count"].tolist()
    assert everything.reports["record_count"].sum() == len(records)
    assert everything.reports["message_count"].sum() == records["count"].sum()


def test_upper_case_results_are_normalised() -> None:
    report = parse_report(SAMPLES / "aggregate_invalid" / "report_with_upper_cased_pass.xml")
    row = report.records.iloc[0]
    assert (row["disposition"], row["dkim_aligned"], row["spf_aligned"]) == ("none", "pass", "pass")
    assert (row["dkim_results"], row["spf_result"]) == ("pass", "pass")
    # parsedmarc's convention for an absent selector / scope, kept so the lists stay aligned.
    assert (row["dkim_selectors"], row["spf_scope"]) == ("none", "mfrom")
    assert report.org_name == "example.com"  # "example.com " as sent


def test_missing_org_name_falls_back_to_the_email_domain() -> None:
    report = parse_report(SAMPLES / "aggregate" / "!example.com!1538204542!1538463818.xml")
    assert report.meta.org_email == "administrator@accurateplastics.com"
    assert report.org_name == "accurateplastics.com"


def test_stray_xs_schema_wrapper_is_ignored() -> None:
    report = parse_report(SAMPLES / "aggregate" / "ikea.com!example.de!1538690400!1538776800.xml")
    assert report.org_name == "ikea.com"
    assert report.records["spf_scope"].tolist() == ["helo"]
    # The envelope sender is given, so it is not guessed from the HELO check.
    assert report.records["envelope_from"].tolist() == ["example.de"]


def test_invalid_utf8_is_kept_visible_and_warned_about() -> None:
    report = parse_report(SAMPLES / "aggregate" / "invalid_utf_8.xml")
    assert report.records["header_from"].tolist() == ["bad_byte\ufffd"]
    assert any("UTF-8" in warning for warning in report.warnings)


def test_broken_xml_is_recovered_with_a_warning() -> None:
    report = parse_report(SAMPLES / "aggregate" / "invalid_xml.xml")
    assert report.report_id == "sonexushealth.com:1530233361"
    assert any("malformed" in warning and "line 5" in warning for warning in report.warnings)


def test_rfc9990_namespace_and_fields() -> None:
    report = parse_report(SAMPLES / "aggregate" / "rfc9990-sample.xml")
    assert report.meta.xml_namespace == "urn:ietf:params:xml:ns:dmarc-2.0"
    assert (
        report.meta.policy_np,
        report.meta.policy_testing,
        report.meta.policy_discovery_method,
    ) == (
        "none",
        "n",
        "treewalk",
    )
    assert report.meta.generator == "Example DMARC Aggregate Reporter v1.2"
    assert report.records["count"].tolist() == [123]
    # No adkim/aspf published: the RFC default (relaxed) applies.
    assert report.records["policy_adkim"].tolist() == ["r"]


def test_override_reasons_are_joined_and_empty_ones_dropped() -> None:
    dmarcbis = parse_report(
        SAMPLES / "aggregate" / "rfc9990-example.net!example.com!1700000000!1700086399.xml"
    )
    reasons = dmarcbis.records["override_reasons"]
    assert reasons.isna().tolist() == [True, False]
    assert reasons.iloc[1] == "other"
    empty = parse_report(SAMPLES / "aggregate" / "empty_reason.xml")
    assert empty.records["override_reasons"].isna().all()


def test_mimecast_gzip_with_trailing_bytes_in_an_email() -> None:
    report = parse_report(SAMPLES / "aggregate" / "mimecast-weird-gzip.eml")
    assert report.org_name == "Mimecast"
    assert report.records["source_ip"].tolist() == ["40.93.199.22"]


def test_multiple_dkim_signatures_keep_report_order() -> None:
    report = parse_report(SAMPLES / "extract_report" / "nice-input.xml")
    row = report.records[report.records["dkim_domains"] == "example.com,amazonses.com"].iloc[0]
    assert (
        row["dkim_selectors"] == "awbr2rp4egb35wbg4umq4e5dcoe5kc4n,ug7nbtf4gccmlpwj322ax3p6ow6yfsug"
    )
    assert row["dkim_results"] == "pass,pass"


def test_parse_report_refuses_what_is_not_one_aggregate_report() -> None:
    with pytest.raises(ReportError, match="empty"):
        parse_report(SAMPLES / "empty.xml")
    with pytest.raises(ReportError, match="TLS"):
        parse_report(SAMPLES / "smtp_tls" / "rfc8460.json")


def test_failure_reports_table(everything: ReportBatch) -> None:
    failures = everything.failure_reports.set_index("source")
    netease = failures.loc[
        str(SAMPLES / "failure" / "[Netease DMARC Failure Report] Rent Reminder.eml")
    ]
    assert netease["reported_domain"] == "cardinal.com"
    assert netease["source_ip"] == "167.89.69.24"
    assert netease["subject"] == "Rent Reminder"
    exim = failures.loc[str(SAMPLES / "failure" / "exim_plain_text_only_no_arf_part.eml")]
    assert (exim["source_ip"], exim["auth_failure"]) == ("203.0.113.68", "dmarc")


def test_tls_reports_table(everything: ReportBatch) -> None:
    tls = everything.tls_reports
    rfc = tls[tls["source"] == str(SAMPLES / "smtp_tls" / "rfc8460.json")].iloc[0]
    assert rfc["organization_name"] == "Company-X"
    assert (rfc["successful_sessions"], rfc["failed_sessions"]) == (5326, 303)
    assert "certificate-expired" in rfc["failure_types"]
    google = tls[tls["source"].str.contains("google.com_smtp_tls_report.eml")].iloc[0]
    assert (google["policy_domain"], google["policy_type"]) == (
        "cardinalhealth.ca",
        "no-policy-found",
    )


def test_declared_non_utf8_encoding_is_honoured() -> None:
    source = (SAMPLES / "aggregate" / "old_draft_from_wiki.xml").read_text()
    latin = source.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace(
        "acme.com</org_name>", "Acmé GmbH</org_name>"
    )
    report = parse_report(latin.encode("latin-1"))
    assert report.org_name == "Acmé GmbH"
    assert report.records["count"].tolist() == [2]


def test_public_names() -> None:
    import diagnostics.dmarc as dmarc

    for name in dmarc.__all__:
        assert getattr(dmarc, name) is not None
    assert {"parse_report", "load_reports", "ReportBatch", "AggregateReport", "ParseLimits"} <= set(
        dmarc.__all__
    )


def test_parse_report_on_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="cannot be read"):
        parse_report(tmp_path / "nothing.xml")
