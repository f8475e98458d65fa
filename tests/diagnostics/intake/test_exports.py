"""The public surface of diagnostics.intake: every exported name exists and says what it is for, and
the package imports neither Streamlit nor the admin package above it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import diagnostics.intake as intake

ROOT = Path(__file__).resolve().parents[3]


def test_exported_members() -> None:
    for name in intake.__all__:
        member = getattr(intake, name)
        if not isinstance(member, int):
            assert member.__doc__, f"{name} has no docstring"
    assert [d.value for d in intake.Disposition] == [
        "stored", "not_a_report", "too_large", "retry",
    ]  # fmt: skip


def test_nothing_above_the_library_is_imported() -> None:
    code = (
        "import sys, diagnostics.intake, diagnostics.intake.receiver, diagnostics.intake.rua; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('streamlit', 'pages', 'admin')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr
