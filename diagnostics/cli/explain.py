"""`python -m diagnostics explain --domain D`: why each DMARC source fails, and what to change.

    python -m diagnostics explain --domain D [--database URL] [--since DATE]
    python -m diagnostics explain --domain D PATH...          (report files, folders or globs)
    ... [--provider KEY] [--host SMTP-HOST]                     (what the account sends through)

Reads the records from the store (default) or straight from report files, explains every source of
the domain against today's DNS (with the reverse DNS the store's enrichment cache holds, which
names sources when DNS cannot), and ends with the next DMARC policy step. `--provider` and `--host`
(repeatable) say what the account is configured to send through: evidence the reports do not
have (a relay through Microsoft 365 is then a missing include, never a forward), and the region of
an SES host fills the custom MAIL FROM records. Each source says how sure it is and why; a record
with a value nothing tells is printed as a template, marked, with where to find the value. Exit 0 when every
legitimate source passes, 1 when something needs fixing, 2 on a usage error, an unreadable database
or no reports for the domain.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import pandas as pd
from tqdm import tqdm

from diagnostics.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from diagnostics.cli.common import (
    add_provider_option,
    add_resolver_options,
    report_store,
    resolver_from,
)
from diagnostics.config import DeskConfig
from diagnostics.dmarc import Diagnosis, explain, load_reports, readiness
from diagnostics.dmarc.explain import NOT_LEGITIMATE, Action, ActionCode, reported_policies
from diagnostics.dmarc.store import ReportStore
from diagnostics.dns import normalize_name
from diagnostics.errors import InvalidInput
from diagnostics.serialize import to_jsonable
from diagnostics.wording import plural


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="explain each DMARC source of a domain and the exact fix",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="report files (default: the store)"
    )
    parser.add_argument("--domain", required=True, help="the policy domain, e.g. example.com")
    parser.add_argument(
        "--database", metavar="URL", help="the store (default: DATABASE_URL, else data/desk.sqlite)"
    )
    parser.add_argument("--since", metavar="DATE", help="first day to include (YYYY-MM-DD)")
    add_provider_option(parser)
    parser.add_argument(
        "--host",
        action="append",
        default=[],
        metavar="SMTP-HOST",
        help="an SMTP host the account sends through (repeatable), e.g. smtp.office365.com",
    )
    add_resolver_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: DeskConfig) -> int:
    domain = normalize_name(args.domain)
    if args.paths and args.database:
        print("error: give report files or --database, not both", file=sys.stderr)
        return EXIT_USAGE
    store = None if args.paths else report_store(args.database, config)
    records = _records(args, domain, store)
    if records.empty:
        print(f"error: no DMARC report records for {domain}", file=sys.stderr)
        return EXIT_USAGE
    resolver = resolver_from(args, config)
    cache = store.enrichment_cache() if store is not None else None
    found = explain(
        records, providers=args.provider, hosts=args.host, resolver=resolver, cache=cache
    )
    diagnoses = [d for d in found if d.domain == domain]
    # The reports' p= stands in when DNS cannot read the record, as it does inside explain: the
    # summary must not say "from p=none" under an action that says "from p=quarantine".
    fallback = reported_policies(records).get(domain)
    ready = readiness(domain, diagnoses, resolver=resolver, fallback=fallback)
    if args.json:
        document = {
            "domain": domain,
            "diagnoses": [d.to_dict() for d in diagnoses],
            "readiness": to_jsonable(ready),
        }
        print(json.dumps(to_jsonable(document), indent=2))
    else:
        _print(domain, diagnoses, ready.message, ready.record)
    return EXIT_FINDINGS if any(_needs_fixing(d) for d in diagnoses) else EXIT_OK


def _needs_fixing(diagnosis: Diagnosis) -> bool:
    """A legitimate source that fails DMARC, or that passes only on one leg and has a DNS fix
    (the seed's case: DKIM carries DMARC while SPF still lacks the provider's include)."""
    if diagnosis.category in NOT_LEGITIMATE:
        return False
    fixes = {a.code for a in diagnosis.actions} - {ActionCode.NO_ACTION, ActionCode.TIGHTEN_POLICY}
    return not diagnosis.passes_today or bool(fixes)


def _records(args: argparse.Namespace, domain: str, store: ReportStore | None) -> pd.DataFrame:
    start = _since(args.since)
    if store is not None:
        return store.verdicts(domain, args.since)
    with tqdm(total=0, unit="file", disable=not sys.stderr.isatty(), file=sys.stderr) as bar:

        def progress(done: int, total: int, _name: str) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        batch = load_reports(args.paths, progress=progress)
    for source, reason in batch.errors:
        print(f"skipped {source}: {reason}", file=sys.stderr)
    records = batch.records
    records = records[records["policy_domain"].astype(str).str.lower() == domain]
    if start is not None:
        records = records[records["begin"] >= start]
    return records


def _since(text: str | None) -> pd.Timestamp | None:
    if not text:
        return None
    try:
        return pd.Timestamp(text, tz="UTC")
    except (ValueError, TypeError):
        raise InvalidInput(f"--since {text!r} is not a date (YYYY-MM-DD).") from None


def _print(domain: str, diagnoses: list[Diagnosis], verdict: str, record: str | None) -> None:
    total = sum(d.messages for d in diagnoses)
    print(
        f"DMARC sources of {domain}: {plural(total, 'message')}, "
        f"{plural(len(diagnoses), 'source')}\n"
    )
    for d in diagnoses:
        ips = ", ".join(d.ips[:3]) + (f" and {len(d.ips) - 3} more" if len(d.ips) > 3 else "")
        print(
            f"[{d.severity.value}] {d.source} — {d.category.label}, {plural(d.messages, 'message')}"
        )
        print(f"    ({d.share:.0%} of the domain's mail; from {ips})")
        print(_wrap(d.explanation, 4))
        print(_wrap(f"{d.confidence.label}: " + "; ".join(d.evidence.basis) + ".", 4))
        for action in d.actions:
            print(_wrap(f"-> {action.code.label}: {action.message}", 4))
            for name, rdtype, value, template in _records_of(action):
                mark = "  (template: fill in the part in angle brackets)" if template else ""
                print(f"       {name}  {rdtype}  {value}{mark}")
        print()
    print("DMARC policy:")
    print(_wrap(verdict, 2))
    if record and record not in verdict:
        print(f"  Publish at _dmarc.{domain} (TXT): {record}")


def _records_of(action: Action) -> list[tuple[str, str, str, bool]]:
    if action.records:
        return [(r.name, r.rdtype, r.value, r.template) for r in action.records]
    if action.record:
        return [(action.domain or "", action.rdtype or "TXT", action.record, False)]
    return []


def _wrap(text: str, indent: int) -> str:
    return "\n".join(" " * indent + line for line in str(text).splitlines())
