"""The DMARC reports page's shared results (desk/report_views.py): every session gets the same
answer, a write to the store is seen at once, "Check DNS again" reads DNS anew for everyone, and
a page over many sources stays a page to read (cards for the largest, a table for the rest)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from desk import report_views as views
from diagnostics.config import ChecksConfig, DatabaseConfig, DnsConfig
from diagnostics.dmarc import ReportStore

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "dmarc_reports.py")
SEED = ROOT / "tests" / "data" / "seed" / "seed.example.xml"
PROVIDERS = yaml.safe_load((ROOT / "tests" / "scenarios" / "_providers.yaml").read_text())
MISSING = "v=spf1 include:spf.trekmail.net -all"
FIXED = "v=spf1 include:spf.trekmail.net include:sendgrid.net -all"


@pytest.fixture
def url(tmp_path, configure) -> str:
    address = f"sqlite:///{tmp_path / 'reports.sqlite'}"
    configure(database=DatabaseConfig(address, tmp_path / "data"))
    return address


def open_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    return str(next(m.value for m in at.metric if m.label == label))


def report(domain: str, day: dt.date, rows: list[tuple[str, int]], report_id: str) -> bytes:
    """An aggregate report: each row a source whose original DKIM passed and SPF failed (a
    forward, as receivers see one)."""
    begin = int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())
    records = "".join(
        f"<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated>"
        "<disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated>"
        f"</row><identifiers><header_from>{domain}</header_from></identifiers><auth_results>"
        f"<dkim><domain>{domain}</domain><result>pass</result></dkim><spf><domain>{domain}"
        "</domain><result>fail</result></spf></auth_results></record>"
        for ip, count in rows
    )
    return (
        '<?xml version="1.0"?><feedback><report_metadata><org_name>receiver.example</org_name>'
        f"<email>r@receiver.example</email><report_id>{report_id}</report_id><date_range>"
        f"<begin>{begin}</begin><end>{begin + 86399}</end></date_range></report_metadata>"
        f"<policy_published><domain>{domain}</domain><p>none</p></policy_published>{records}"
        "</feedback>"
    ).encode()


def test_a_write_to_the_store_is_seen_by_the_next_run(url) -> None:
    store = ReportStore(url)
    assert store.import_paths([SEED]).ok
    before = open_page()
    messages = int(metric(before, "Messages").replace(",", ""))
    assert messages > 0
    # Another process (the CLI, another server) imports one more day of the same domain.
    extra = report("seed.example", dt.date(2026, 1, 2), [("192.0.2.10", 7)], "extra-1")
    assert store.import_files([extra]).ok
    after = open_page()
    assert metric(after, "Messages") == f"{messages + 7:,}"
    store.close()


def test_check_dns_again_reads_dns_anew_for_every_session(url, nameserver, configure) -> None:
    server = nameserver({**PROVIDERS, "seed.example": {"TXT": [MISSING]}})
    configure(dns=DnsConfig(server.address, timeout=1.0))
    store = ReportStore(url)
    assert store.import_paths([SEED]).ok
    first = open_page()
    assert FIXED in [c.value for c in first.code]  # the record to publish
    assert any(c.value.startswith("DNS as read at ") for c in first.caption)

    server.update({"seed.example": {"TXT": [FIXED]}})  # the customer publishes it
    second = open_page()  # another session, minutes later: the kept answer, said to be from then
    assert FIXED in [c.value for c in second.code]
    again = next(b for b in second.button if b.label == "Check DNS again")
    again.click().run()
    assert not second.exception
    assert FIXED not in [c.value for c in second.code]
    third = open_page()  # and every other session sees the new answer too
    assert FIXED not in [c.value for c in third.code]
    store.close()


def test_many_sources_of_one_kind_are_cards_for_the_largest_and_a_table(url) -> None:
    rows = [(f"198.51.100.{n}", 1000 - n) for n in range(1, 9)]
    store = ReportStore(url)
    assert store.import_files([report("forwards.example", dt.date(2026, 1, 1), rows, "f-1")]).ok
    at = open_page()
    cards = [m.value for m in at.markdown if "· Forwarded ·" in m.value]
    # The three largest as cards, largest first.
    assert len(cards) == 3
    assert [c.split("**")[1] for c in cards] == ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
    more = next(e for e in at.expander if e.label.startswith("5 more sources forwarded"))
    table = more.dataframe[0].value
    assert list(table["source"]) == [ip for ip, _ in rows[3:]]
    assert int(table["messages"].sum()) == sum(count for _, count in rows[3:])
    store.close()


def test_a_large_report_shows_its_first_rows_and_says_so(url) -> None:
    count = views.REPORT_ROWS_SHOWN + 200
    rows = [(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}", 1) for n in range(1, count + 1)]
    store = ReportStore(url)
    assert store.import_files([report("big.example", dt.date(2026, 1, 1), rows, "big-1")]).ok
    at = open_page()
    reports_tab = at.tabs[1]
    shown = reports_tab.dataframe[0].value
    assert len(shown) == views.REPORT_ROWS_SHOWN
    assert list(shown["source_ip"]) == [ip for ip, _ in rows[: views.REPORT_ROWS_SHOWN]]
    notes = " ".join(c.value for c in reports_tab.caption)
    assert f"The first {views.REPORT_ROWS_SHOWN:,} of its {count:,} records" in notes
    store.close()


def test_an_explanation_cut_off_by_the_time_limit_is_not_kept(url, nameserver, configure) -> None:
    # The domain's own SPF never answers: explaining outlasts the page's limit.
    server = nameserver({**PROVIDERS, "seed.example": {"TXT": "TIMEOUT"}})
    configure(dns=DnsConfig(server.address, timeout=1.0), checks=ChecksConfig(timeout=0.3))
    store = ReportStore(url)
    assert store.import_paths([SEED]).ok
    cut = open_page()
    assert any("did not finish in" in w.value for w in cut.warning)
    assert FIXED not in [c.value for c in cut.code]

    server.update({"seed.example": {"TXT": [MISSING]}})  # DNS answers again
    configure(checks=ChecksConfig(timeout=20.0))
    again = open_page()  # the next visit explains anew rather than repeating the failure
    assert not any("did not finish in" in w.value for w in again.warning)
    assert FIXED in [c.value for c in again.code]
    store.close()
