"""The Needs attention page: the stored queue ranked with one plain line and a link to each
account's Overview, filtered; the changed accounts checked again on request; the alerts with their
history; by role: an analyst reads the queue, only an admin sees the rule and channel forms."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from streamlit.testing.v1 import AppTest

import admin
from admin.troubles import QueueEvidence, Trouble, TroubleKind
from tests.pages.conftest import Configure
from tests.pages.test_auth import LOCAL, add, open_app, sign_in, store

ROOT = Path(__file__).resolve().parents[2]
PAGE = "pages/needs_attention.py"

__all__ = ["store"]  # the fixture, shared with test_auth


def fill(store: admin.Store) -> dict[str, int]:
    """Three accounts as a refresh would have stored them; Lumen's row changed since."""
    ids = {}
    rows = [
        (
            "Cedar Studio",
            "nano",
            None,
            [Trouble(TroubleKind.NANO_PAUSED, "Outbound mail is paused.")],
        ),
        (
            "Bluebird Bakery",
            "nano",
            "sendgrid",
            [
                Trouble(TroubleKind.PROVIDER_MISSING_FROM_SPF, "SendGrid is not in SPF.", 120),
                Trouble(TroubleKind.CONNECTION_LINT, "SendGrid user name is not apikey."),
            ],
        ),
        (
            "Lumen Fitness",
            "starter",
            "ses",
            [Trouble(TroubleKind.CONNECTION_LINT, "IAM secret key.")],
        ),
        ("Northwind Legal", "pro", None, []),
    ]
    for name, plan, provider, found in rows:
        account = store.create_account(name, plan)
        ids[name] = account.id
        store.queue.save(QueueEvidence(account.id, name, plan, provider, "x.example"), found)
    store.queue.mark_stale(account_ids=[ids["Lumen Fitness"]])
    return ids


def frame(at, n: int = 0):  # type: ignore[no-untyped-def]
    return at.dataframe[n].value


def test_ranked_with_a_line_and_a_link_to_each_overview(
    store: admin.Store, configure: Configure
) -> None:
    ids = fill(store)
    # The page alone: opening the app would show the fixture's own account on the Overview,
    # which saves its row (issue 16: a visit refreshes the queue).
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    queue = frame(at)
    assert list(queue["account"]) == ["Cedar Studio", "Bluebird Bakery", "Lumen Fitness"]
    assert list(queue["why"])[1] == "SendGrid is not in SPF. (and 1 other problem)"
    assert list(queue["problems"])[1] == "Provider missing from SPF, Connection settings wrong"
    assert next(iter(queue["overview"])) == f"/overview?account={ids['Cedar Studio']}"
    assert list(queue["provider"]) == ["Managed or unknown", "SendGrid", "Amazon SES"]
    assert list(queue["changed"]) == ["", "", "changed since"]
    # The fixture's own account was never checked: it counts as changed, as Lumen does.
    assert [m.value for m in at.metric] == ["3", "4", "2"]

    # Filters: plan, problem, provider.
    at.selectbox[0].select("nano").run()
    assert list(frame(at)["account"]) == ["Cedar Studio", "Bluebird Bakery"]
    at.selectbox[1].select(TroubleKind.CONNECTION_LINT).run()
    assert list(frame(at)["account"]) == ["Bluebird Bakery"]
    at.selectbox[0].select(None).run()
    at.selectbox[2].select("ses").run()
    assert list(frame(at)["account"]) == ["Lumen Fitness"]


def test_a_link_chooses_the_account_on_the_overview(
    store: admin.Store, configure: Configure
) -> None:
    ids = fill(store)
    at = open_app()
    at.query_params["account"] = str(ids["Lumen Fitness"])
    at.switch_page("pages/overview.py").run()
    assert at.session_state["desk_account_id"] == ids["Lumen Fitness"]
    assert "account" not in at.query_params


def test_an_analyst_reads_the_queue_and_alerts_but_no_forms(
    store: admin.Store, configure: Configure
) -> None:
    configure(auth=LOCAL)
    fill(store)
    add(store, "ann", "analyst")
    add(store, "ada", "admin")
    at = sign_in(open_app(), "ann")
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert next(iter(frame(at)["account"])) == "Cedar Studio"
    buttons = [b.label for b in at.button]
    assert not any("changed accounts" in b for b in buttons)
    assert "Only admins change the rules." in [c.value for c in at.caption]
    assert not at.get("form")
    assert not any("Where alerts go" in e.label for e in at.expander)

    admin_at = sign_in(open_app(), "ada")
    admin_at.switch_page(PAGE).run()
    assert len(admin_at.get("form")) == 3  # the rule, the alert e-mail, the webhook
    # Signing in showed the admin the Overview of the fixture's own account, which saved its
    # row (the analyst's did not): only Lumen's row is left changed.
    assert any("Check the 1 changed accounts again" in b.label for b in admin_at.button)


def test_an_admin_saves_a_rule_and_the_alerts_show(
    store: admin.Store, configure: Configure
) -> None:
    fill(store)
    store.alerts.run(now=datetime(2026, 12, 7, 9, tzinfo=UTC))
    at = open_app()
    at.switch_page(PAGE).run()
    alerts = frame(at, 1)
    assert set(alerts["account"]) == {"Cedar Studio", "Bluebird Bakery", "Lumen Fitness"}
    assert set(alerts["notices"]) == {"none sent (no channel set up)"}
    rule = next(s for s in at.selectbox if s.label == "Rule")
    rule.select(TroubleKind.NO_REPORTS).run()
    days = next(n for n in at.number_input if n.label.startswith("No report"))
    days.set_value(3.0)
    next(b for b in at.button if b.label == "Save the rule").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert store.alerts.rules()[TroubleKind.NO_REPORTS].threshold("days") == 3


def test_support_sees_where_alerts_go_as_hints_and_may_check_again(
    store: admin.Store, configure: Configure
) -> None:
    configure(auth=LOCAL)
    fill(store)
    store.alerts.save_webhook_channel(
        "https://hooks.example/services/T1/B2/very-secret-part", hmac_secret="signing-key-42"
    )
    add(store, "sam", "support")
    at = sign_in(open_app(), "sam")
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.get("form")
    assert any("changed accounts again" in b.label for b in at.button)
    shown = " ".join(m.value for m in at.markdown)
    assert "https://hooks.example/…" in shown.replace("\\", "")
    assert "very-secret-part" not in shown
    assert "signing-key-42" not in shown
