"""The public surface of the app package `desk`: its public modules and what each exports, listed
here (as httpx's tests/test_exported_members.py does), so a change to the surface is a change to
this file. Modules whose name starts with `_` are the package's insides (no screen imports them:
tests/test_import_contracts.py); the others, and the names in their `__all__`, are what the
screens and the router use. Also: no public class of admin or desk shares its name with another
in the project, and no module of theirs has a name that says nothing."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from collections import defaultdict
from pathlib import Path

import pytest

import desk

ROOT = Path(__file__).resolve().parents[2]

SURFACE = {
    "desk.account_diagnosis": {
        "TOP_PROBLEMS",
        "account_diagnosis",
        "forget_diagnosis",
        "health_section",
        "latest_test",
        "live_connection",
        "problems_list",
        "records_section",
        "route_box",
        "spf_record",
    },
    "desk.bounded_checks": {"check_health"},
    "desk.column_labels": {"column_labels"},
    "desk.configuration": {"app_config", "use_config"},
    "desk.connection_tests": {"SavedConnection", "run_probe"},
    "desk.database_faults": {"DATABASE_FAULTS", "said_alone", "said_in_page"},
    "desk.import_slot": {"import_slot"},
    "desk.labels": {"share_text"},
    "desk.markdown": {"Markdown", "code", "data", "joined", "md", "plain", "table", "text"},
    "desk.page_access": {"PAGE_PERMISSIONS", "may_see", "visible_pages"},
    "desk.report_layout": {"CARDS_PER_KIND", "Explained", "Section", "arrow", "lay_out", "section"},
    "desk.report_address": {"rua_section"},
    "desk.report_mailbox": {"mailbox_form_settings", "report_mailbox_section", "run_lines"},
    "desk.report_tables": {
        "ENRICH_CHUNK",
        "by_service",
        "disposition",
        "name_senders",
        "records_csv",
        "shown_name",
        "volume_over_time",
        "with_service_names",
    },
    "desk.report_views": {
        "DNS_FRESH_SECONDS",
        "REPORT_ROWS_SHOWN",
        "REPORT_TABLE_COLUMNS",
        "SOURCES_TABLE_COLUMNS",
        "ExplainUnfinished",
        "PeriodView",
        "check_dns_again",
        "domains",
        "explained",
        "period_view",
        "report_rows",
        "store_key",
        "stored_reports",
    },
    "desk.resources": {
        "SAMPLES",
        "app_resolver",
        "current_actor",
        "demo_reports",
        "desk_store",
        "dns_settings",
        "is_embedded_default",
        "open_store_or_stop",
        "report_store",
        "sample_files",
        "store_or_stop",
    },
    "desk.routing": {"page_link", "through_the_router"},
    "desk.sign_in_gate": {
        "SESSION_KEY",
        "auth_mode",
        "bound_locally",
        "current_user",
        "sign_in_gate",
    },
    "desk.uploads": {
        "MAX_FILES_VARIABLE",
        "MAX_MB_VARIABLE",
        "UploadLimits",
        "import_uploads",
        "too_many",
        "upload_limits",
    },
    "desk.queue_upkeep": {"refresh_after_import", "refresh_after_test", "save_queue_row"},
    "desk.queue_views": {
        "QUEUE_COLUMNS",
        "alerts_frame",
        "kind_chart",
        "kind_counts",
        "note_new_reports",
        "open_overview",
        "overview_link",
        "queue_frame",
        "refresh_changed",
        "threshold_label",
    },
    "desk.widgets": {
        "ACCOUNT_KEY",
        "ACCOUNT_PARAM",
        "account_picker",
        "diagnosis_card",
        "finding_cards",
        "publish_record",
        "show_error",
    },
}
# Names that say nothing about what a module holds.
VAGUE = {"rows", "common", "util", "utils", "helpers", "misc", "stuff", "base", "core"}


def modules(package: str) -> list[str]:
    top = importlib.import_module(package)
    return sorted(
        info.name
        for info in pkgutil.walk_packages(top.__path__, f"{package}.")
        if ".migrations" not in info.name
    )


def is_public(module: str) -> bool:
    return not any(part.startswith("_") for part in module.split("."))


def test_the_public_modules_are_these() -> None:
    assert [m for m in modules("desk") if is_public(m)] == sorted(SURFACE)


@pytest.mark.parametrize("name", sorted(SURFACE))
def test_each_public_module_exports_its_names_documented(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(exported) == len(set(exported)), name
    assert set(exported) == SURFACE[name]
    assert inspect.getdoc(module), f"{name} says nothing of what it is for"
    for member in exported:
        value = getattr(module, member)
        if inspect.isfunction(value) or inspect.isclass(value):
            assert inspect.getdoc(value) or member.isupper(), f"{name}.{member} is undocumented"


def test_every_module_says_what_it_is_for() -> None:
    for name in ["desk", *modules("desk")]:
        assert inspect.getdoc(importlib.import_module(name)), name


def test_no_name_is_exported_by_two_modules() -> None:
    where: dict[str, list[str]] = defaultdict(list)
    for name, names in SURFACE.items():
        for member in names:
            where[member].append(name)
    assert {m: w for m, w in where.items() if len(w) > 1} == {}


def test_the_package_itself_exports_nothing_but_its_docstring() -> None:
    """Screens import each name from the module that holds it: `desk` itself has no names (its
    modules become attributes of it once imported)."""
    own = [n for n, v in vars(desk).items() if not n.startswith("_") and not inspect.ismodule(v)]
    assert own == []


def _public_classes(package: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                found[node.name].append(str(path.relative_to(ROOT)))
    return found


def test_no_public_class_of_admin_or_desk_shares_its_name() -> None:
    everywhere: dict[str, list[str]] = defaultdict(list)
    for package in ("admin", "desk", "diagnostics", "pages"):
        for name, places in _public_classes(package).items():
            everywhere[name] += places
    shared = {
        name: places
        for name, places in everywhere.items()
        if len(places) > 1 and any(p.startswith(("admin/", "desk/")) for p in places)
    }
    assert shared == {}


def test_no_module_of_admin_or_desk_has_a_name_that_says_nothing() -> None:
    for package in ("admin", "desk"):
        for name in modules(package):
            stem = name.rsplit(".", 1)[-1].lstrip("_")
            assert stem not in VAGUE, name
    basenames = {m.rsplit(".", 1)[-1] for m in modules("admin")}
    assert not basenames & {m.rsplit(".", 1)[-1] for m in modules("desk")}
