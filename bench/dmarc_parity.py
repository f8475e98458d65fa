"""parsedmarc's records, put in the shape of our `records` table, for the parity test and the bench.

Only representation is translated here (parsedmarc's nested dicts and lists to flat columns, its
empty strings to missing values, its pct string to a number); every difference of substance is left
for the tests' expected-difference table to name.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from diagnostics.dmarc import RECORD_COLUMNS


def _none(value: Any) -> Any:
    return None if value == "" else value


def _joined(items: list[dict[str, Any]], key: str) -> str | None:
    return ",".join(str(item[key]) for item in items) or None


def parsedmarc_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]] | None:
    """parsedmarc's records for the aggregate report at `path`, or None when it rejects the file."""
    import parsedmarc

    logging.getLogger("parsedmarc").setLevel(logging.CRITICAL)
    try:
        parsed = parsedmarc.parse_report_file(os.fspath(path), offline=True)
    except Exception:
        return None
    if parsed["report_type"] != "aggregate":
        return None
    return rows_of(parsed["report"])


def rows_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    metadata = report["report_metadata"]
    policy = report["policy_published"]
    header = {
        "org_name": metadata["org_name"],
        "report_id": metadata["report_id"],
        # parsedmarc prints local time; these runs are in UTC (the test asserts TZ).
        "begin": pd.Timestamp(datetime.fromisoformat(metadata["begin_date"]).replace(tzinfo=UTC)),
        "end": pd.Timestamp(datetime.fromisoformat(metadata["end_date"]).replace(tzinfo=UTC)),
        "policy_domain": policy["domain"],
        "policy_p": policy["p"],
        "policy_sp": policy["sp"],
        "policy_pct": int(policy["pct"]) if policy["pct"] not in (None, "") else None,
        "policy_adkim": policy["adkim"],
        "policy_aspf": policy["aspf"],
    }
    rows: list[dict[str, Any]] = []
    previous_key = None
    for record in report["records"]:
        evaluated = record["policy_evaluated"]
        identifiers = record["identifiers"]
        auth = record["auth_results"]
        reasons = [r.get("type") for r in evaluated["policy_override_reasons"] if r.get("type")]
        row = dict(header)
        row.update(
            {
                "source_ip": record["source"]["ip_address"],
                "count": int(record["count"]),
                "disposition": evaluated["disposition"],
                "dkim_aligned": evaluated["dkim"],
                "spf_aligned": evaluated["spf"],
                "override_reasons": ",".join(reasons) or None,
                "header_from": _none(identifiers["header_from"]),
                "envelope_from": _none(identifiers["envelope_from"]),
                "envelope_to": _none(identifiers["envelope_to"]),
                "spf_domain": _joined(auth["spf"], "domain"),
                "spf_scope": _joined(auth["spf"], "scope"),
                "spf_result": _joined(auth["spf"], "result"),
                "dkim_domains": _joined(auth["dkim"], "domain"),
                "dkim_selectors": _joined(auth["dkim"], "selector"),
                "dkim_results": _joined(auth["dkim"], "result"),
            }
        )
        # parsedmarc splits a record of a report spanning more than a day into per-day parts with
        # pro-rated counts; the parts of one record are consecutive and otherwise identical, so
        # they are summed back into the receiver's row before comparing.
        key = (
            tuple(v for k, v in row.items() if k != "count")
            if record.get("normalized_timespan")
            else None
        )
        if key is not None and key == previous_key:
            rows[-1]["count"] += row["count"]
        else:
            rows.append(row)
        previous_key = key
    return rows


def our_rows(records: pd.DataFrame) -> list[dict[str, Any]]:
    """Our records table as plain dicts, missing values as None."""
    frame = records[list(RECORD_COLUMNS)].astype(object)
    frame = frame.where(frame.notna(), None)
    return [dict(row) for row in frame.to_dict(orient="records")]
