"""`python -m diagnostics reports` when the database fails under it (a backend killed in the middle
of the command, the server cut off behind a proxy): one plain line on stderr, exit code 2, and an
import interrupted that way leaves nothing half-stored."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from diagnostics.dmarc.store import ReportStore
from tests.diagnostics.dmarc.conftest import SAMPLES
from tests.support.databases import ProxiedPostgres, backend_killed_on

ROOT = Path(__file__).resolve().parents[3]
USSSA = SAMPLES / "aggregate" / "usssa.com!example.com!1538784000!1538870399.xml"
LARGE = SAMPLES / "aggregate" / "!large-example.com!1711897200!1711983600.xml"
UNAVAILABLE = "error: The database is not available right now: try again in a moment."

pytestmark = pytest.mark.postgres


def _cli(url: URL, *argv: str) -> subprocess.CompletedProcess[str]:
    database = url.render_as_string(hide_password=False)
    return subprocess.run(
        [sys.executable, "-m", "diagnostics", "reports", *argv, "--database", database],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one_plain_line(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


def test_summary_and_import_say_a_killed_backend_in_one_line(postgres_url: URL) -> None:
    store = ReportStore(postgres_url)
    store.import_paths([USSSA])

    with backend_killed_on(postgres_url, "dmarc_rollup") as killed:
        run = _cli(postgres_url, "summary", "--domain", "example.com")
    assert killed.pids
    assert _one_plain_line(run) == UNAVAILABLE

    with backend_killed_on(postgres_url, "dmarc_records") as killed:
        run = _cli(postgres_url, "import", str(LARGE))
    assert killed.pids
    assert _one_plain_line(run) == UNAVAILABLE
    assert len(store.reports()) == 1  # nothing of the interrupted report

    run = _cli(postgres_url, "import", str(LARGE))
    assert run.returncode == 0, run.stderr
    assert "2,286 records" in run.stdout
    store.close()


def test_a_database_cut_off_is_said_in_one_line(postgres_proxy: ProxiedPostgres) -> None:
    postgres_proxy.proxy.cut()
    line = _one_plain_line(_cli(postgres_proxy.url, "summary", "--domain", "example.com"))
    assert line.startswith("error: The database at postgresql+psycopg2://")
    assert line.endswith("cannot be reached or opened.")
