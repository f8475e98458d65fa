"""The public surface of `admin`: what pages import, no Streamlit behind it, secrets out of reprs."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import admin
from admin import Store
from admin.authentication import Authentication
from admin.users import UserAdministration, Users

ROOT = Path(__file__).resolve().parents[2]


def test_every_exported_name_exists_and_nothing_private_is_exported() -> None:
    assert sorted(admin.__all__) == admin.__all__
    for name in admin.__all__:
        assert hasattr(admin, name), name
        assert not name.startswith("_")


def test_the_store_api_the_pages_rely_on() -> None:
    expected = {
        "create_account": ["name", "plan", "actor"],
        "add_connection": ["account_id", "settings", "label", "activate", "actor"],
        "update_connection": [
            "connection_id",
            "settings",
            "label",
            "keep_password_if_empty",
            "actor",
        ],
        "delete_connection": ["connection_id", "actor"],
        "use_managed": ["account_id", "actor"],
        "activate": ["connection_id", "actor"],
        "outbound_route": ["account_id"],
        "change_plan": ["account_id", "plan", "actor"],
        "list_accounts": [],
        "get_account": ["account_id"],
        "list_connections": ["account_id"],
        "connection_settings": ["connection_id"],
        "connection_lint": ["connection_id"],
        "audit_log": ["account_id", "limit"],
        "record_probe": ["account_id", "connection_id", "result", "settings", "actor"],
        "probe_history": ["account_id", "connection_id", "limit"],
    }
    for method, params in expected.items():
        signature = inspect.signature(getattr(Store, method))
        assert list(signature.parameters)[1:] == params, method
        if "actor" in signature.parameters:
            assert signature.parameters["actor"].default == "system", method


def test_the_account_diagnosis_surface() -> None:
    """admin.diagnosis (issue 12): what the pages, the CLI, the notebooks and the queue use."""
    import admin.diagnosis

    assert set(admin.diagnosis.__all__) == {
        "REPORT_DAYS",
        "AccountDiagnosis",
        "AccountProblem",
        "AccountSetup",
        "ConnectionDiagnosis",
        "LatestTest",
        "RecordToPublish",
        "ReportsEvidence",
        "account_setup",
        "by_impact",
        "describe_test",
        "diagnose_account",
        "explain_within",
        "failing_dmarc",
        "find_account",
        "network_checks",
        "tls_report_summary",
    }
    signature = inspect.signature(admin.diagnosis.diagnose_account)
    assert list(signature.parameters) == [
        "store",
        "account_name_or_id",
        "report_store",
        "resolver",
        "config",
        "now",
    ]
    for name in admin.diagnosis.__all__:
        assert inspect.getdoc(getattr(admin.diagnosis, name)) or name.isupper(), name


def test_store_users_keeps_every_name_the_pages_cli_and_tests_use() -> None:
    """`store.users` is user administration (admin.users) and sign-in (admin.authentication) in
    one object, as it was before the two were split."""
    assert inspect.signature(Store.__dict__["users"].fget).return_annotation == "Users"
    administration = {
        "has_users": [],
        "list_users": ["actor"],
        "get_user": ["name", "actor"],
        "add_user": ["name", "role", "password", "actor"],
        "add_first_admin": ["name", "password"],
        "set_role": ["name", "role", "actor"],
        "set_disabled": ["name", "disabled", "actor"],
        "set_password": ["name", "password", "actor"],
        "unbind_oidc": ["name", "actor"],
    }
    authentication = {
        "sign_in": ["name", "password", "client_key"],
        "resume": ["token"],
        "end": ["token"],
        "principal_for": ["name"],
        "oidc_principal": ["identity"],
        "audit_oidc_sign_in": ["principal", "issued_at"],
        "audit_oidc_session_expired": ["principal", "issued_at"],
        "audit_oidc_refusal": ["address", "reason", "issued_at", "facts"],
        "audit_oidc_sign_out": ["principal"],
    }
    for part, methods in ((UserAdministration, administration), (Authentication, authentication)):
        for method, params in methods.items():
            assert method in vars(part), (part.__name__, method)
            signature = inspect.signature(getattr(Users, method))
            assert list(signature.parameters)[1:] == params, method


def test_admin_never_imports_streamlit_or_the_pages() -> None:
    code = (
        "import sys, admin, admin.sample, admin.migrate; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('streamlit', 'pages')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr
    sources = "\n".join(p.read_text() for p in (ROOT / "admin").rglob("*.py"))
    assert "import streamlit" not in sources
    assert "from pages" not in sources
