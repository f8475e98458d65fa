"""The Overview of the sample account on its demo reports when DNS knows nothing of the providers
(no network, a sandboxed or filtering resolver): the seed's diagnosis still heads the page, from
the catalogue's copy of SendGrid's published networks, with the record to publish."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from desk.resources import demo_reports
from diagnostics import providers
from tests.pages.test_overview import sample_desk
from tests.support.nameserver import TIMEOUT

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "overview.py")

BAKERY = "bluebird-bakery.example"
SEED_RECORD = "v=spf1 include:spf.trekmail.net include:sendgrid.net -all"

# Only the customer's own names answer; the providers' names are left to each case.
CUSTOMER = {
    BAKERY: {"TXT": "v=spf1 include:spf.trekmail.net -all", "MX": f"10 mx.{BAKERY}."},
    f"mx.{BAKERY}": {"A": "192.0.2.25"},
    f"_dmarc.{BAKERY}": {"TXT": f"v=DMARC1; p=none; rua=mailto:dmarc@{BAKERY}"},
}
INCLUDES = sorted({p.spf_include for p in providers.all() if p.spf_include})


def _unanswered(kind: str) -> dict[str, Any]:
    if kind == "timeout":  # no answer at all for any provider include
        return {name: TIMEOUT for name in INCLUDES}
    return {}  # not in the zone: NXDOMAIN, as from a resolver that knows no outside names


@pytest.fixture(params=["timeout", "nxdomain"])
def desk(request, configure, nameserver):
    server = nameserver({**CUSTOMER, **_unanswered(request.param)})
    store, reports = sample_desk(configure, server.address)
    files = demo_reports(dt.datetime.now(dt.UTC).date())
    assert not any(f.rejected for f in reports.import_files(files).files)
    yield server
    reports.close()
    store.close()


def test_the_seed_diagnosis_heads_the_overview_without_provider_dns(desk):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    cards = [m.value for m in at.markdown if str(m.value).startswith("**SendGrid**")]
    assert cards, [m.value for m in at.markdown]
    assert "SPF include missing" in cards[0]
    assert "Forwarded" not in " ".join(cards)
    assert SEED_RECORD in [c.value for c in at.code]
    # The card says what its answer rests on.
    text = "\n".join(str(m.value) for m in at.markdown)
    assert "published SPF networks as of" in text
    assert "sendgrid.net" in text
