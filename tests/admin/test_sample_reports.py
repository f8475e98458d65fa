"""The sample accounts' demo reports read as real reports and tell the stories they are meant to."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import yaml

from admin.sample_reports import DAYS, sample_reports
from diagnostics.dmarc import explain, load_reports

PROVIDERS = yaml.safe_load(
    (Path(__file__).parents[1] / "scenarios" / "_providers.yaml").read_text()
)
TODAY = dt.date(2026, 11, 24)


def _batch():
    files = []
    for name, data in sample_reports(TODAY):
        handle = io.BytesIO(data)
        handle.name = name
        files.append(handle)
    return load_reports(files)


def test_every_demo_report_parses_and_is_recent():
    batch = _batch()
    assert batch.errors == []
    assert len(batch.reports) == DAYS * 2 * 2  # days x receivers x domains
    begins = batch.records["begin"].dt.date
    assert begins.min() == TODAY - dt.timedelta(days=DAYS)
    assert begins.max() == TODAY - dt.timedelta(days=1)
    # fixed ids per day: importing again is a duplicate, never a second copy
    assert batch.reports["report_id"].is_unique
    again = [name for name, _ in sample_reports(TODAY)]
    assert again == [name for name, _ in sample_reports(TODAY)]


def test_the_stories_the_sample_accounts_tell(nameserver):
    zone = {
        **PROVIDERS,
        "bluebird-bakery.example": {"TXT": ["v=spf1 include:spf.trekmail.net -all"]},
        "harborandpine.example": {"TXT": ["v=spf1 include:spf.trekmail.net -all"]},
    }
    resolver = nameserver(zone).resolver(timeout=0.5)
    by_source = {(d.domain, d.source): d for d in explain(_batch().records, resolver=resolver)}
    sendgrid = by_source[("bluebird-bakery.example", "SendGrid")]
    assert sendgrid.category.value == "spf_include_missing"
    assert sendgrid.actions[0].record == (
        "v=spf1 include:spf.trekmail.net include:sendgrid.net -all"
    )
    assert by_source[("bluebird-bakery.example", "198.51.100.77")].category.value == "unauthorized"
    ses = next(d for (domain, _), d in by_source.items() if domain == "harborandpine.example")
    assert ses.provider == "ses"
    assert ses.category.value in ("spf_not_aligned", "dkim_not_aligned")
    assert "custom_return_path" in ses.action_codes or "setup_dkim" in ses.action_codes
