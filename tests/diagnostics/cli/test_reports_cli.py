"""`python -m diagnostics reports import|summary` on an SQLite store in a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from diagnostics.cli import main
from diagnostics.dmarc.store import ReportStore
from tests.diagnostics.dmarc.conftest import SAMPLES

USSSA = SAMPLES / "aggregate" / "usssa.com!example.com!1538784000!1538870399.xml"
LARGE = SAMPLES / "aggregate" / "!large-example.com!1711897200!1711983600.xml"


def _run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse exits on its own usage errors
        return int(exc.code or 0)


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'desk.sqlite'}"


def test_import_prints_a_line_per_file_and_exits_by_outcome(database, capsys) -> None:
    assert _run(["reports", "import", str(USSSA), str(LARGE), "--database", database]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(str(USSSA))
    assert "imported (1 report, 2 records)" in out[0]
    assert "2,286 records" in out[1]
    assert out[-1].startswith("2 files: 2 reports imported")

    assert _run(["reports", "import", str(USSSA), "--database", database]) == 0
    assert "duplicate (1 report already stored)" in capsys.readouterr().out

    code = _run(["reports", "import", str(SAMPLES / "empty.xml"), "--database", database])
    out = capsys.readouterr().out
    assert code == 1
    assert "rejected" in out
    assert "the file is empty" in out


def test_summary_text_and_json_agree_with_the_store(database, capsys) -> None:
    _run(["reports", "import", str(USSSA), str(LARGE), "--database", database])
    capsys.readouterr()
    store = ReportStore(database)
    days = store.volume_by_day("example.com")
    store.close()

    code = _run(["reports", "summary", "--domain", "example.com", "--database", database])
    text = capsys.readouterr().out
    assert code == 1  # some mail failed DMARC in these reports
    assert f"{int(days['messages'].sum()):,} messages" in text
    assert "2024-03-31" in text

    code = _run(
        [
            "reports",
            "summary",
            "--domain",
            "example.com",
            "--since",
            "2024-01-01",
            "--database",
            database,
            "--json",
        ]
    )
    document = json.loads(capsys.readouterr().out)
    recent = days[days["day"] >= "2024-01-01"]
    assert document["messages"] == int(recent["messages"].sum())
    assert [d["day"] for d in document["days"]] == ["2024-03-31"]
    assert document["top_sources"][0]["messages"] >= document["top_sources"][-1]["messages"]


def test_summary_of_an_unknown_domain_and_bad_input_exit_2(database, capsys) -> None:
    assert _run(["reports", "summary", "--domain", "nobody.example", "--database", database]) == 2
    assert "no report for nobody.example" in capsys.readouterr().err
    code = _run(["reports", "summary", "--domain", "d.example", "--since", "last tuesday"])
    assert code == 2
    assert "not a date" in capsys.readouterr().err
    assert _run(["reports", "import", str(USSSA), "--database", "mysql://u:pw@h/db"]) == 2
    err = capsys.readouterr().err
    assert "SQLite or PostgreSQL" in err
    assert "pw" not in err
    assert _run(["reports"]) == 2
