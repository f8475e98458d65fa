"""`ReportStore.verdicts` (records reduced in SQL) explains exactly like the records themselves."""

from __future__ import annotations

from pathlib import Path

import yaml

from admin.sample_reports import sample_reports
from diagnostics.dmarc import ReportStore, explain

DATA = Path(__file__).resolve().parents[3] / "data" / "dmarc" / "aggregate"
PROVIDERS = yaml.safe_load(
    (Path(__file__).resolve().parents[3] / "scenarios" / "_providers.yaml").read_text()
)


def test_verdicts_explain_like_the_records(tmp_path, nameserver):
    store = ReportStore(f"sqlite:///{tmp_path / 'desk.sqlite'}")
    assert store.import_paths([DATA]).files
    import datetime as dt
    import io

    demo = []
    for name, data in sample_reports(dt.date(2026, 11, 24)):
        handle = io.BytesIO(data)
        handle.name = name
        demo.append(handle)
    assert store.import_files(demo).ok
    zone = {
        **PROVIDERS,
        "bluebird-bakery.example": {"TXT": ["v=spf1 include:spf.trekmail.net -all"]},
    }
    server = nameserver(zone)
    for domain in store.domains()["policy_domain"]:
        records = store.records(domain)
        verdicts = store.verdicts(domain)
        assert len(verdicts) <= len(records)
        assert verdicts["count"].sum() == records["count"].sum()
        # A timeout long enough that a loaded machine cannot answer one side and not the other.
        from_records = explain(records, resolver=server.resolver(timeout=2.0))
        from_verdicts = explain(verdicts, resolver=server.resolver(timeout=2.0))
        assert [d.to_dict() for d in from_verdicts] == [d.to_dict() for d in from_records], domain
