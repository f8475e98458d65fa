"""Whole messages into the store in one transaction: every message judged, and a database that
cannot be written raises one of STORE_DOWN with nothing committed (so nothing is archived or acknowledged)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import URL

from diagnostics.dmarc import ReportStore
from diagnostics.intake import Disposition, InboundMessage, store_messages
from diagnostics.intake.messages import STORE_DOWN
from tests.support.relay import Relay
from tests.support.reportmail import gzipped_report, plain_message, report_message


def test_each_message_is_judged_on_its_own_parts(report_store: ReportStore) -> None:
    outcomes = store_messages(
        report_store,
        [
            InboundMessage("a", report_message([gzipped_report(1), gzipped_report(2)])),
            InboundMessage("b", plain_message()),
            InboundMessage("c", report_message([gzipped_report(2)])),
        ],
    )
    assert [(o.message, o.disposition, o.imported, o.duplicates) for o in outcomes] == [
        ("a", Disposition.STORED, 2, 0),
        ("b", Disposition.NOT_A_REPORT, 0, 0),
        ("c", Disposition.STORED, 0, 1),
    ]


def test_names_must_be_unique_and_free_of_the_part_separator(report_store: ReportStore) -> None:
    with pytest.raises(ValueError, match="unique"):
        store_messages(report_store, [InboundMessage("a", b"x"), InboundMessage("a", b"y")])
    with pytest.raises(ValueError, match="':'"):
        store_messages(report_store, [InboundMessage("INBOX:1", b"x")])


@pytest.mark.postgres
def test_an_unreachable_database_raises_store_down_and_commits_nothing(postgres_url: URL) -> None:
    relay = Relay(lambda: (postgres_url.host or "127.0.0.1", postgres_url.port or 5432)).start()
    store = ReportStore(postgres_url.set(host="127.0.0.1", port=relay.port))
    try:
        relay.refuse(True)
        relay.cut()
        message = InboundMessage("a", report_message([gzipped_report(1)]))
        with pytest.raises(STORE_DOWN, match="not available right now"):
            store_messages(store, [message])
        relay.refuse(False)
        assert store.reports().empty
        assert [o.imported for o in store_messages(store, [message])] == [1]
    finally:
        store.close()
        relay.close()
