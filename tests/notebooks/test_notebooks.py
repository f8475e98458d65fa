"""Every analyst notebook runs top to bottom on the sample data, offline, and computes what it says.

Each notebook runs in a fresh kernel started from a kernelspec written here for this interpreter (the
.venv's python), so the test does not depend on which kernels the machine has registered. After the
notebook's own cells, the test appends one probe cell that prints the notebook's results as JSON; the
assertions compare them with what the library gives for the same samples in this process. Both
notebooks ask a loopback nameserver for DNS, named by DESK_NAMESERVER as an analyst would set it.
Charts must reach the page as the Vega-Lite MIME bundle that JupyterLab and VS Code draw with their
own bundled Vega, never as HTML that loads Vega from a CDN (blank without internet).
"""

from __future__ import annotations

import datetime as dt
import io
import ipaddress
import json
import os
import shutil
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

from admin import Store, ensure_sample_data
from admin.diagnosis import diagnose_account
from admin.sample_reports import sample_report_files
from diagnostics.dmarc import ReportStore, explain, load_reports
from diagnostics.dns import Resolver, parse_nameserver
from diagnostics.enrich import canonical_ip, enrich
from tests.support.nameserver import LoopbackNameserver

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SAMPLES = ROOT / "tests" / "data" / "dmarc"
KERNEL = "desk-notebook-test"
CELL_TIMEOUT = 60  # seconds per cell; the slowest cell takes well under one on the samples
PROBE = "NOTEBOOK-PROBE:"
# The MIME type both JupyterLab 4 and VS Code render offline with their bundled Vega-Lite (Altair 6's
# own, "application/vnd.vegalite.v6.json", is rendered by neither).
CHART_MIME = "application/vnd.vegalite.v5+json"

# The SPF notebook's domain, and the record the loopback nameserver publishes for it: a network of
# the domain's own, Google's and Amazon SES's includes (IPv4 and IPv6), ~all for everything else.
SPF_DOMAIN = "example.com"
SPF_NETWORKS = {
    SPF_DOMAIN: ["12.20.121.0/25"],
    "_spf.google.com": ["209.85.128.0/17", "2607:f8b0:4000::/36"],
    "amazonses.com": ["54.240.0.0/18"],
}
SPF_ZONE = {
    SPF_DOMAIN: {
        "TXT": ["v=spf1 ip4:12.20.121.0/25 include:_spf.google.com include:amazonses.com ~all"]
    },
    "_spf.google.com": {"TXT": ["v=spf1 ip4:209.85.128.0/17 ip6:2607:f8b0:4000::/36 ~all"]},
    "amazonses.com": {"TXT": ["v=spf1 ip4:54.240.0.0/18 -all"]},
}

# What each notebook's probe cell reports (evaluated in the kernel, after the notebook's cells).
PROBES: dict[str, str] = {
    "dmarc_exploration.ipynb": """{
        "imported": imported.imported,
        "duplicates": imported.duplicates,
        "rejected": rejected.to_dict("records"),
        "domains": domains[["policy_domain", "reports", "records", "messages"]].to_dict("records"),
        "reports": len(reports),
        "volume_days": volume["day"].dt.strftime("%Y-%m-%d").tolist(),
        "volume": volume[["messages", "dmarc_pass"]].sum().astype(int).to_dict(),
        "by_source": by_source[["ip", "service", "messages", "dmarc_pass"]].to_dict("records"),
        "by_service": by_service[["messages", "passed", "pass_rate"]].reset_index().to_dict("records"),
        "diagnoses": sorted([d.domain, d.category.value, d.source, d.messages] for d in diagnoses),
        "attention": attention["category"].tolist(),
        "charts": [c.to_dict() for c in (volume_chart, pass_rate_chart, alignment_chart)],
        "account": None if answer is None else {
            "categories": list(answer.categories),
            "records": [[r.name, r.rdtype, r.value] for r in answer.records_to_publish],
            "problems": [p.code for p in answer.problems],
        },
        "problem_columns": list(problems.columns),
    }""",
    "spf_exploration.ipynb": """{
        "spf_now": sources["spf_now"].to_dict(),
        "messages": int(sources["messages"].sum()),
        "failing": sorted(failing.index),
        "compile_queries": authorizer.stats.queries,
    }""",
}


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A folder holding one kernelspec whose argv is this interpreter."""
    folder = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(folder / KERNEL)
    return str(folder)


@pytest.fixture(scope="module")
def spf_nameserver() -> Iterator[LoopbackNameserver]:
    with LoopbackNameserver(SPF_ZONE) as server:
        yield server


@pytest.fixture(scope="module")
def dmarc_nameserver() -> Iterator[LoopbackNameserver]:
    """The DMARC notebook's own (the SPF test counts every query its server answers): the same
    zone, so explain finds example.com's SPF record; every other name is NXDOMAIN, at once."""
    with LoopbackNameserver(SPF_ZONE) as server:
        yield server


def run_notebook(
    path: Path,
    kernel_dir: str,
    *,
    env: Mapping[str, str] | None = None,
    replace: tuple[str, str] | None = None,
) -> tuple[NotebookNode, dict[str, Any]]:
    """Execute `path` (from its own folder, as Jupyter does) plus its probe cell; the executed
    notebook and the probe's values. `replace` swaps one line of the first code cell, as an analyst
    edits the settings there."""
    nb = nbformat.read(path, as_version=4)
    if replace is not None:
        first = next(cell for cell in nb.cells if cell.cell_type == "code")
        assert replace[0] in first.source, "the setting to replace is in the first code cell"
        first.source = first.source.replace(replace[0], replace[1])
    expression = PROBES.get(path.name, "{}")
    nb.cells.append(
        new_code_cell(
            "import json as _json, os as _os, sys as _sys\n"
            f"_values = {expression}\n"
            "_values.update(prefix=_sys.prefix, cwd=_os.getcwd())\n"
            f"print({PROBE!r} + _json.dumps(_values, default=str))"
        )
    )
    manager = KernelManager(
        kernel_name=KERNEL,
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernel_dir]),
        # Beside the kernelspec rather than in the user's Jupyter runtime folder, which a fresh
        # machine or a CI home may not have writable.
        connection_file=str(Path(kernel_dir) / f"kernel-{uuid.uuid4().hex}.json"),
    )
    client = NotebookClient(
        nb,
        km=manager,
        timeout=CELL_TIMEOUT,
        allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env=dict(env if env is not None else os.environ))
    printed = "".join(
        output.get("text", "")
        for output in nb.cells[-1].outputs
        if output.get("output_type") == "stream"
    )
    assert PROBE in printed, f"the probe cell printed nothing usable: {printed!r}"
    return nb, json.loads(printed.split(PROBE, 1)[1])


def assert_ran_cleanly(nb: NotebookNode, probe: Mapping[str, Any], notebook: Path) -> None:
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.get("execution_count") for cell in code), "every code cell ran"
    errors = [o for cell in code for o in cell.outputs if o.get("output_type") == "error"]
    assert errors == []
    # The kernel is this environment's Python (the .venv's), not whatever `python` a PATH finds.
    assert probe["prefix"] == sys.prefix
    assert Path(probe["cwd"]).resolve() == notebook.parent.resolve()


def shown_charts(nb: NotebookNode) -> list[dict[str, Any]]:
    """The Vega-Lite specs the notebook displayed as the offline MIME bundle, in order; fails on
    any output that would load a script (Altair's default HTML renderer fetches Vega from a CDN)."""
    specs = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for mime, value in data.items():
                text = value if isinstance(value, str) else json.dumps(value)
                assert "<script" not in text.lower(), f"{mime} output loads a script"
                assert "cdn.jsdelivr.net" not in text, f"{mime} output names a CDN"
            if CHART_MIME in data:
                specs.append(data[CHART_MIME])
    return specs


def chart_rows(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [row for rows in spec.get("datasets", {}).values() for row in rows]


def samples_oracle(folder: Path, server: LoopbackNameserver) -> dict[str, Any]:
    """What the library says about `folder`, computed here from the parsed records, without the
    notebook and without a store. A report read twice (the same report in two files) counts once."""
    batch = load_reports(folder)
    first = batch.reports.drop_duplicates(["org_name", "report_id", "policy_domain"]).index
    records = batch.records[batch.records["report_index"].isin(first)]
    dmarc_pass = records["dkim_aligned"].eq("pass") | records["spf_aligned"].eq("pass")
    sources = enrich(records["source_ip"], offline=True)
    host, port = parse_nameserver(server.address)
    diagnoses = explain(records, resolver=Resolver([host], port=port, timeout=3))
    messages = records.groupby("policy_domain", observed=True)["count"].sum()
    return {
        "batch": batch,
        "reports": len(first),
        "domains": {str(d): int(n) for d, n in messages.items()},
        "messages": int(records["count"].sum()),
        "passed": int(records["count"][dmarc_pass].sum()),
        "days": sorted(set(records["begin"].dropna().dt.strftime("%Y-%m-%d"))),
        "ips": sorted(set(sources["ip"].dropna())),
        "names": set(sources["service_name"].dropna()) | set(sources["as_name"].dropna()),
        "service_names": set(sources["service_name"].dropna()),
        "diagnoses": sorted([d.domain, d.category.value, d.source, d.messages] for d in diagnoses),
    }


def check_dmarc(
    nb: NotebookNode, probe: Mapping[str, Any], folder: Path, server: LoopbackNameserver
) -> None:
    expected = samples_oracle(folder, server)
    batch = expected["batch"]
    # Every report imported once (copies of a report are duplicates), every non-report rejected
    # with the parser's reason.
    assert probe["imported"] >= expected["reports"] > 0
    # (Failure reports read twice are duplicates too.)
    assert probe["duplicates"] >= len(batch.reports) - expected["reports"]
    assert sorted((r["file"], r["reason"]) for r in probe["rejected"]) == sorted(
        (Path(source).name, reason) for source, reason in batch.errors
    )
    domains = {row["policy_domain"]: row["messages"] for row in probe["domains"]}
    assert domains == expected["domains"]
    assert (
        sum(row["reports"] for row in probe["domains"]) == probe["reports"] == expected["reports"]
    )

    # The store's aggregates hold every message once, on the day its report begins.
    assert probe["volume"] == {"messages": expected["messages"], "dmarc_pass": expected["passed"]}
    assert probe["volume_days"] == expected["days"]
    by_source = probe["by_source"]
    assert sorted(row["ip"] for row in by_source) == expected["ips"]
    assert sum(row["messages"] for row in by_source) == expected["messages"]
    services = {row["service"] for row in by_source}
    assert services >= expected["service_names"]
    assert services <= expected["names"] | {"unknown"}

    # Pass rate by service: adding up the sources neither lost nor doubled a message.
    by_service = probe["by_service"]
    assert {row["service"] for row in by_service} == services
    assert sum(row["messages"] for row in by_service) == expected["messages"]
    assert sum(row["passed"] for row in by_service) == expected["passed"]
    for row in by_service:
        assert row["pass_rate"] == pytest.approx(row["passed"] / row["messages"])

    # explain over the store's verdicts says what it says over the records themselves.
    assert probe["diagnoses"] == expected["diagnoses"]
    assert probe["attention"], "the samples hold sources that need attention"
    assert "compliant" not in probe["attention"]

    # Three charts, each drawn from the MIME bundle with the data the tables show.
    specs = shown_charts(nb)
    assert len(specs) == 3, "volume, pass rate and alignment charts"
    assert specs == probe["charts"]
    for spec in specs:
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v")
    volume_rows = chart_rows(specs[0])
    assert sum(r["value"] for r in volume_rows if r["dmarc"] == "dmarc_pass") == expected["passed"]
    assert sum(r["value"] for r in volume_rows) == expected["messages"]
    rates = {row["service"]: row["pass_rate"] for row in chart_rows(specs[1])}
    assert rates == {row["service"]: row["pass_rate"] for row in by_service}
    busiest = [row["ip"] for row in by_source][:500]
    assert [row["ip"] for row in chart_rows(specs[2])] == busiest


def check_spf(probe: Mapping[str, Any], server: LoopbackNameserver) -> None:
    batch = load_reports(SAMPLES)
    first = batch.reports.drop_duplicates(["org_name", "report_id", "policy_domain"]).index
    records = batch.records[batch.records["report_index"].isin(first)]
    records = records[records["policy_domain"] == SPF_DOMAIN]
    ips = {canonical_ip(ip) for ip in records["source_ip"].dropna()} - {None}
    networks = [ipaddress.ip_network(net) for nets in SPF_NETWORKS.values() for net in nets]

    def authorized(ip: str) -> bool:
        address = ipaddress.ip_address(ip)
        return any(address.version == net.version and address in net for net in networks)

    verdicts = probe["spf_now"]
    assert set(verdicts) == ips
    # Through the store, a report read twice counts once.
    addressed = records["source_ip"].map(canonical_ip).notna()
    assert probe["messages"] == int(records["count"][addressed].sum())
    assert {ip for ip, v in verdicts.items() if v == "pass"} == {ip for ip in ips if authorized(ip)}
    # Everything else meets the domain's own ~all.
    assert {v for ip, v in verdicts.items() if not authorized(ip)} == {"softfail"}
    assert set(probe["failing"]) == {ip for ip in ips if not authorized(ip)}
    assert probe["failing"], "the samples hold sources outside the record"

    # The tree was compiled once, through DESK_NAMESERVER: each record asked for exactly once,
    # however many addresses were checked.
    assert probe["compile_queries"] == len(SPF_ZONE)
    assert sorted(server.queries) == sorted((name, "TXT") for name in SPF_ZONE)


def account_oracle(server: LoopbackNameserver, folder: Path) -> dict[str, Any]:
    """What the DMARC notebook's last section must show for its ACCOUNT (the sample bakery): the
    same diagnose_account call, here, on a store of its own with the sample accounts and their
    demo reports, asking the same nameserver."""
    url = f"sqlite:///{folder / 'oracle.sqlite'}"
    desk = Store(url, data_dir=folder)
    reports = ReportStore(url)
    try:
        ensure_sample_data(desk)
        files = sample_report_files(dt.datetime.now(dt.UTC).date())
        reports.import_files(files)
        host, port = parse_nameserver(server.address)
        answer = diagnose_account(
            desk,
            "Bluebird Bakery",
            report_store=reports,
            resolver=Resolver([host], port=port, timeout=3),
        )
    finally:
        reports.close()
        desk.close()
    assert answer.categories, "the bakery's demo reports give diagnoses"
    return {
        "categories": list(answer.categories),
        "records": [[r.name, r.rdtype, r.value] for r in answer.records_to_publish],
        "problems": [p.code for p in answer.problems],
    }


NOTEBOOK_PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOK_PATHS, ids=[p.stem for p in NOTEBOOK_PATHS])
def test_notebook_runs_top_to_bottom(
    notebook: Path,
    kernel_dir: str,
    spf_nameserver: LoopbackNameserver,
    dmarc_nameserver: LoopbackNameserver,
    tmp_path: Path,
) -> None:
    server = dmarc_nameserver if notebook.name == "dmarc_exploration.ipynb" else spf_nameserver
    env = dict(os.environ, DESK_NAMESERVER=server.address)
    nb, probe = run_notebook(notebook, kernel_dir, env=env)
    assert_ran_cleanly(nb, probe, notebook)
    shown_charts(nb)  # no notebook's output loads a script
    if notebook.name == "dmarc_exploration.ipynb":
        check_dmarc(nb, probe, SAMPLES, server)
        assert probe["account"] == account_oracle(server, tmp_path)
    elif notebook.name == "spf_exploration.ipynb":
        check_spf(probe, spf_nameserver)


def test_notebooks_are_committed_without_outputs() -> None:
    for notebook in NOTEBOOK_PATHS:
        nb = nbformat.read(notebook, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [], f"{notebook.name}: outputs are cleared"
                assert cell.execution_count is None, f"{notebook.name}: counts are cleared"


def test_dmarc_notebook_reads_the_folder_set_at_the_top(
    tmp_path: Path, kernel_dir: str, dmarc_nameserver: LoopbackNameserver
) -> None:
    folder = tmp_path / "my reports"
    folder.mkdir()
    for name in (
        "fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz",
        "mimecast-weird-gzip.eml",
        "protection.outlook.com!example.com!1711756800!1711843200.xml",
    ):
        shutil.copy(SAMPLES / "aggregate" / name, folder / name)
    (folder / "notes.txt").write_text("reports from the new provider, week 12\n")

    notebook = NOTEBOOKS / "dmarc_exploration.ipynb"
    nb, probe = run_notebook(
        notebook,
        kernel_dir,
        env=dict(os.environ, DESK_NAMESERVER=dmarc_nameserver.address),
        replace=('REPORTS = "../tests/data/dmarc"', f"REPORTS = {str(folder)!r}"),
    )
    assert_ran_cleanly(nb, probe, notebook)
    assert probe["imported"] == probe["reports"] == 3
    assert [r["file"] for r in probe["rejected"]] == ["notes.txt"]
    check_dmarc(nb, probe, folder, dmarc_nameserver)
