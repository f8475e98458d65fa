"""The DMARC reports page over a real (temporary SQLite) report store, as an admin uses it.

Reports come from tests/data/dmarc/ (parsedmarc's samples, see SOURCE.md there); the expected figures
are read back from the store, never written down here.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from desk.report_tables import records_csv, with_service_names
from desk.resources import SAMPLES, demo_reports, sample_files
from diagnostics.config import DatabaseConfig, DnsConfig, ReportsConfig
from diagnostics.dmarc import ReportStore
from diagnostics.enrich import describe
from diagnostics.enrich.addresses import reverse_pointer

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "dmarc_reports.py")
DATA = ROOT / "tests" / "data" / "dmarc"
SMALL = [
    DATA / "aggregate" / "usssa.com!example.com!1538784000!1538870399.xml",
    DATA / "aggregate" / "fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz",
    DATA / "aggregate" / "rfc9990-example.net!example.com!1700000000!1700086399.xml",
    DATA / "aggregate" / "ikea.com!example.de!1538690400!1538776800.xml",
]
FAILURE = DATA / "failure" / "dmarc_ruf_report_linkedin.eml"
TLS = DATA / "smtp_tls" / "rfc8460.json"


@pytest.fixture
def url(tmp_path, configure) -> str:
    """The page's database: a fresh SQLite file that is not the embedded default (no samples)."""
    address = f"sqlite:///{tmp_path / 'reports.sqlite'}"
    configure(database=DatabaseConfig(address, tmp_path / "data"))
    return address


@pytest.fixture
def filled(url) -> ReportStore:
    store = ReportStore(url)
    summary = store.import_paths([*SMALL, FAILURE, TLS])
    assert summary.ok, summary.lines()
    yield store
    store.close()


def open_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def messages(at: AppTest) -> str:
    return "\n".join(x.value for x in [*at.error, *at.warning, *at.info, *at.success])


def upload(path: Path) -> tuple[str, bytes, str]:
    return (path.name, path.read_bytes(), "application/octet-stream")


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_upload_many_files_imports_them_and_says_what_happened_to_each(url):
    at = open_page()
    assert "No reports yet" in messages(at)
    assert at.file_uploader[0].accept_multiple_files
    assert button(at, "Import").disabled  # nothing chosen yet

    bad = ("notes.txt", b"these are not the reports you are looking for", "text/plain")
    files = [upload(p) for p in SMALL[:3]] + [bad, upload(SMALL[0])]
    at.file_uploader[0].set_value(files).run()
    button(at, "Import").click().run()
    assert not at.exception, [e.value for e in at.exception]

    summary = "\n".join(c.value for c in at.code)
    lines = summary.splitlines()
    assert len(lines) == 5, lines  # one line a file, in the order uploaded
    for line, (name, _, _) in zip(lines, files, strict=True):
        assert line.startswith(f"{name}: ")
    assert all(": imported (1 report" in line for line in lines[:3]), lines
    assert lines[3].startswith("notes.txt: rejected")
    assert "Traceback" not in lines[3]
    assert len(lines[3]) > len("notes.txt: rejected: ")  # a reason follows
    assert lines[4] == f"{SMALL[0].name}: duplicate (1 report already stored)"
    assert "3 reports imported" in messages(at)  # the totals line, as a warning: one rejected

    store = ReportStore(url)
    assert len(store.reports()) == 3
    # the uploader was emptied, the page now shows the imported domain
    assert not at.file_uploader[0].value
    assert at.selectbox(key="dmarc_domain").value == "example.com"


def test_too_many_files_are_refused_before_anything_is_read(url, configure):
    configure(reports=ReportsConfig(max_upload_files=2))  # DESK_MAX_UPLOAD_FILES=2
    at = open_page()
    at.file_uploader[0].set_value([upload(p) for p in SMALL[:3]]).run()
    assert "3 files chosen" in messages(at)
    assert button(at, "Import").disabled


def test_a_domain_shows_its_figures_charts_and_sources(filled):
    at = open_page()
    domain = at.selectbox(key="dmarc_domain").value
    domains = filled.domains().set_index("policy_domain")
    assert domain == domains["messages"].idxmax()

    volume = filled.volume_by_day(domain)
    total = int(volume["messages"].sum())
    assert metric(at, "Messages") == f"{total:,}"
    rate = 100 * volume["dmarc_pass"].sum() / total
    assert metric(at, "DMARC pass") == f"{rate:.1f} %"
    assert metric(at, "Reports") == str(len(filled.reports(domain)))
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2  # volume and pass rate

    assert [t.label for t in at.tabs] == ["Sources", "Reports", "Failure reports", "TLS reports"]
    services = at.tabs[0].dataframe[0].value
    assert list(services.columns[:3]) == ["service", "ips", "messages"]
    assert services["messages"].sum() == total
    assert services["ips"].sum() == len(filled.by_source(domain))
    assert services["messages"].is_monotonic_decreasing

    # another domain, another picture
    other = next(d for d in domains.index if d != domain)
    at.selectbox(key="dmarc_domain").set_value(other).run()
    assert metric(at, "Messages") == f"{int(domains.loc[other, 'messages']):,}"


def test_the_period_filters_the_page(filled):
    at = open_page()
    domain = at.selectbox(key="dmarc_domain").value
    days = filled.volume_by_day(domain)["day"].dt.date
    last = days.max()
    at.date_input(key=f"dmarc_period_{domain}").set_value((last, last)).run()
    assert not at.exception
    expected = int(filled.volume_by_day(domain, last, last)["messages"].sum())
    assert metric(at, "Messages") == f"{expected:,}"
    assert expected < int(filled.volume_by_day(domain)["messages"].sum())


def test_drill_down_shows_one_reports_records(filled):
    at = open_page()
    domain = at.selectbox(key="dmarc_domain").value
    reports = filled.reports(domain)
    pick = reports.sort_values("record_count")["report_pk"].iloc[-1]
    at.selectbox(key="dmarc_report").set_value(pick).run()
    shown = at.tabs[1].dataframe[0].value
    expected = filled.records(report_pk=int(pick))
    assert len(shown) == len(expected) == reports.set_index("report_pk").loc[pick, "record_count"]
    assert list(shown["source_ip"]) == list(expected["source_ip"])
    # The columns keep their names; their headings are words, not codes.
    config = json.loads(at.tabs[1].dataframe[0].proto.columns)
    labels = {name: config[name]["label"] for name in shown.columns}
    assert labels["source_ip"] == "Sending IP"
    assert labels["count"] == "Messages"
    assert not [label for label in labels.values() if "_" in label], labels


def test_csv_export_holds_the_filtered_records(filled):
    at = open_page()
    assert any(b.proto.label.startswith("Download the records") for b in at.get("download_button"))
    domain = at.selectbox(key="dmarc_domain").value
    exported = pd.read_csv(io.BytesIO(records_csv(filled, domain, None, None)))
    records = filled.records(domain)
    assert len(exported) == len(records)
    assert set(exported["policy_domain"]) == {domain}
    assert list(exported.columns) == list(records.columns)
    assert exported["count"].sum() == records["count"].sum()
    first = filled.volume_by_day(domain)["day"].dt.date.min()
    only_first = pd.read_csv(io.BytesIO(records_csv(filled, domain, first, first)))
    assert 0 < len(only_first) < len(exported)


def test_failure_and_tls_tabs(filled):
    at = open_page()
    domain = at.selectbox(key="dmarc_domain").value
    row = filled.domains().set_index("policy_domain").loc[domain]
    period = (row["first_begin"].date(), row["last_end"].date())  # the page's default period
    for index, key, every, mine in (
        (2, "dmarc_failure_all", filled.failure_reports(), filled.failure_reports(domain, *period)),
        (3, "dmarc_tls_all", filled.tls_reports(), filled.tls_reports(domain, *period)),
    ):
        assert len(every) >= 1
        shown = at.tabs[index].dataframe
        assert (len(shown[0].value) if shown else 0) == len(mine)
        at.toggle(key=key).set_value(True).run()
        assert not at.exception
        assert len(at.tabs[index].dataframe[0].value) == len(every)


def test_name_the_senders_through_a_loopback_nameserver(filled, nameserver, configure):
    domain = filled.domains().set_index("policy_domain")["messages"].idxmax()
    ip = filled.by_source(domain)["source_ip"].iloc[0]
    ptr = "o1.ptr7.sendgrid.net"
    ns = nameserver({reverse_pointer(ip): {"PTR": ptr}})
    configure(dns=DnsConfig(ns.address, timeout=1.0))
    expected = describe(ip, ptr).service_name
    assert expected

    at = open_page()
    before = with_service_names(filled.by_source(domain)).set_index("source_ip")
    assert before.loc[ip, "named_by"] != "reverse DNS"
    button(at, "Name the senders").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert expected in list(at.tabs[0].dataframe[0].value["service"])
    after = with_service_names(filled.by_source(domain)).set_index("source_ip")
    assert after.loc[ip, "service"] == expected
    assert after.loc[ip, "named_by"] == "reverse DNS"
    assert after.loc[ip, "reverse_dns"] == ptr
    assert ns.queries
    assert len(ns.queries) >= len(after)


def test_samples_are_imported_once_on_the_embedded_default(tmp_path, configure):
    configure(database=DatabaseConfig(data_dir=tmp_path / "data"))  # no DATABASE_URL
    files = sample_files()
    assert files
    assert not any(p.name in ("LICENSE", "SOURCE.md") for p in files)
    assert (SAMPLES / "LICENSE").is_file()
    assert (SAMPLES / "SOURCE.md").is_file()

    at = open_page()
    assert "No reports yet" not in messages(at)
    store = ReportStore(f"sqlite:///{tmp_path / 'data' / 'desk.sqlite'}")
    reference = ReportStore(f"sqlite:///{tmp_path / 'reference.sqlite'}")
    summary = reference.import_paths(files)
    assert summary.ok, summary.lines()
    demo = reference.import_files(demo_reports(dt.datetime.now(dt.UTC).date()))
    assert demo.ok, demo.lines()
    # the sample accounts' domains have recent reports, for their Overview
    assert {"bluebird-bakery.example", "harborandpine.example"} <= set(
        store.domains()["policy_domain"]
    )
    assert len(store.reports()) == len(reference.reports()) > 0
    assert len(store.failure_reports()) == len(reference.failure_reports()) > 0
    assert len(store.tls_reports()) == len(reference.tls_reports()) > 0
    assert at.selectbox(key="dmarc_domain").value in set(store.domains()["policy_domain"])
    # a second start of the page imports nothing more
    open_page()
    assert len(store.reports()) == len(reference.reports())


def test_an_unusable_database_is_a_plain_message(tmp_path, configure):
    def database_url(url: str) -> None:
        configure(database=DatabaseConfig(url, tmp_path / "data"))

    database_url("mysql://desk:hunter2@127.0.0.1/desk")
    at = open_page()
    assert "SQLite or PostgreSQL" in messages(at)
    assert "hunter2" not in messages(at)
    database_url("postgresql+psycopg2://desk:hunter2@127.0.0.1:9/desk")
    at = open_page()
    assert "cannot be reached" in messages(at)
    assert "hunter2" not in messages(at)
    # a driver that is not installed is a setting to fix, not a traceback
    database_url("postgresql+pg8000://desk:hunter2@127.0.0.1:9/desk")
    at = open_page()
    assert "No driver" in messages(at)
    assert "hunter2" not in messages(at)


def test_diagnoses_come_first_with_the_record_to_publish(url, nameserver, configure, tmp_path):
    # The seed's case: SendGrid sends for seed.example, whose SPF names only the platform.
    providers = yaml.safe_load(
        (Path(__file__).parents[1] / "scenarios" / "_providers.yaml").read_text()
    )
    zone = {**providers, "seed.example": {"TXT": ["v=spf1 include:spf.trekmail.net -all"]}}
    configure(dns=DnsConfig(nameserver(zone).address, timeout=1.0))
    report = Path(__file__).resolve().parents[1] / "data" / "seed" / "seed.example.xml"
    store = ReportStore(url)
    assert store.import_paths([report]).ok
    at = open_page()
    assert "What to fix" in [h.value for h in at.subheader]
    codes = [c.value for c in at.code]
    assert "v=spf1 include:spf.trekmail.net include:sendgrid.net -all" in codes
    text = " ".join(m.value for m in at.markdown)
    assert "SendGrid" in text
    assert "SPF include missing" in text  # the category in plain words, never its code
    # the cards come before the figures and charts
    order = [getattr(n, "label", None) or getattr(n, "value", None) for n in at.main]
    assert order.index("What to fix") < order.index("Messages")
