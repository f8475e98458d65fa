"""Aggregate reports laid out the way real receivers write them, from a seed.

The generated corpus of `make_dmarc_corpus.py` writes every record in the schema's element order.
Real receivers do not (tests/data/dmarc-real/SOURCE.md lists their habits; RFC 7489's schema uses
`xs:all`, so any order is valid):

- Google and Seznam write `<selector>` after `<result>` in `<dkim>`, and no SPF `<scope>`;
- Zoho puts `<result>` first; Mimecast writes `<human_result/>`;
- Cisco ESA puts `<envelope_from>` after `<header_from>`;
- Hotmail and LinkedIn put `<spf>` before `<dkim>`; Hotmail starts with a BOM and ends lines
  with CR LF;
- Mail.Ru (2013) puts `<auth_results>` before `<row>` and writes no whitespace at all;
- AOL declares windows-1252 and indents by four; in 2012 (`aol2012`) it also left `<dkim>`/`<spf>`
  out of `<policy_evaluated>` (parsedmarc drops such records, so the bench leaves that one out).

`report(layout, rng, number, records)` is one report's bytes; the bench's corpus (b) and the
tests' layout cases are made with it.
"""

from __future__ import annotations

import gzip
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

LAYOUTS: tuple[str, ...] = (
    "google",
    "seznam",
    "zoho",
    "mimecast",
    "cisco",
    "hotmail",
    "linkedin",
    "mailru2013",
    "aol",
    "aol2012",
    "schema",
)

_ORG = {
    "google": ("google.com", "noreply-dmarc-support@google.com"),
    "seznam": ("Seznam.cz a.s.", "dmarc@seznam.cz"),
    "zoho": ("zoho.com", "noreply-dmarc@zoho.com"),
    "mimecast": ("Mimecast", "no-reply@us-1.mimecastreport.com"),
    "cisco": ("Cisco ESA", "dmarc@esa.example.net"),
    "hotmail": ("Outlook.com", "dmarcreport@microsoft.com"),
    "linkedin": ("LinkedIn", "dmarc-noreply@linkedin.com"),
    "mailru2013": ("Mail.Ru", "dmarc_support@corp.mail.ru"),
    "aol": ("AOL", "postmaster@aol.com"),
    "aol2012": ("AOL", "postmaster@aol.com"),
    "schema": ("Yahoo", "dmarchelp@yahooinc.com"),
}
_SERVICES = [
    ("amazonses.com", ["ug7nbtf4gccmlpwj322ax3p6ow6yfsug", "224i4yxa5dv7c2xz3womw6peuasteono"]),
    ("sendgrid.net", ["s1", "s2"]),
    ("mailgun.org", ["mx", "krs"]),
    ("google.com", ["google", "20230601"]),
    ("outlook.com", ["selector1", "selector2"]),
]


@dataclass(frozen=True)
class _Record:
    ip: str
    count: int
    disposition: str
    dkim: str
    spf: str
    reason: str | None
    header_from: str
    envelope_from: str | None
    envelope_to: str | None
    signatures: list[tuple[str, str, str]]  # domain, selector, result
    checks: list[tuple[str, str, str]]  # domain, scope, result


def _draw(rng: random.Random, domain: str, ips: list[str]) -> _Record:
    service, selectors = rng.choice(_SERVICES)
    dkim_ok = rng.random() < 0.75
    spf_ok = rng.random() < 0.55
    envelope = domain if spf_ok else rng.choice([f"bounce.{service}", f"em.{domain}"])
    signatures = [
        (
            domain if dkim_ok and n == 0 else service,
            rng.choice(selectors),
            "pass" if dkim_ok else rng.choice(["fail", "pass"]),
        )
        for n in range(rng.choice([0, 1, 1, 1, 2]))
    ]
    checks = [(envelope, "mfrom", "pass" if spf_ok else rng.choice(["fail", "softfail", "none"]))]
    return _Record(
        ip=rng.choice(ips),
        count=1 if rng.random() < 0.6 else rng.randrange(2, 3000),
        disposition="none" if dkim_ok or spf_ok else rng.choice(["none", "quarantine", "reject"]),
        dkim="pass" if dkim_ok else "fail",
        spf="pass" if spf_ok else "fail",
        reason="forwarded" if rng.random() < 0.05 else None,
        header_from=domain,
        envelope_from=envelope if rng.random() < 0.7 else None,
        envelope_to=rng.choice(["gmail.com", "example.net"]) if rng.random() < 0.2 else None,
        signatures=signatures,
        checks=checks,
    )


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return f"2001:db8:{rng.randrange(65536):x}::{rng.randrange(1, 65536):x}"
    return (
        f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    )


Node = tuple[str, "str | list[Node] | None"]


def _record_tree(layout: str, r: _Record) -> Node:
    verdicts: list[Node] = [("disposition", r.disposition)]
    if layout != "aol2012":
        verdicts += [("dkim", r.dkim), ("spf", r.spf)]
    if r.reason:
        verdicts.append(("reason", [("type", r.reason), ("comment", None)]))
    row: Node = (
        "row",
        [("source_ip", r.ip), ("count", str(r.count)), ("policy_evaluated", verdicts)],
    )
    identifiers: list[Node] = []
    if r.envelope_to:
        identifiers.append(("envelope_to", r.envelope_to))
    if layout == "cisco":
        identifiers.append(("header_from", r.header_from))
        if r.envelope_from:
            identifiers.append(("envelope_from", r.envelope_from))
    else:
        if r.envelope_from:
            identifiers.append(("envelope_from", r.envelope_from))
        identifiers.append(("header_from", r.header_from))
    dkim: list[Node] = []
    for domain, selector, result in r.signatures:
        if layout in ("google", "seznam"):
            dkim.append(("dkim", [("domain", domain), ("result", result), ("selector", selector)]))
        elif layout == "zoho":
            dkim.append(("dkim", [("result", result), ("domain", domain), ("selector", selector)]))
        elif layout == "mimecast":
            parts: list[Node] = [("domain", domain), ("selector", selector), ("result", result)]
            dkim.append(("dkim", [*parts, ("human_result", None)]))
        else:
            dkim.append(("dkim", [("domain", domain), ("selector", selector), ("result", result)]))
    spf: list[Node] = []
    for domain, scope, result in r.checks:
        if layout in ("google", "seznam"):
            spf.append(("spf", [("domain", domain), ("result", result)]))
        elif layout == "zoho":
            spf.append(("spf", [("domain", domain), ("result", result), ("scope", scope)]))
        elif layout == "mimecast":
            parts = [("domain", domain), ("scope", scope), ("result", result)]
            spf.append(("spf", [*parts, ("human_result", None)]))
        else:
            spf.append(("spf", [("domain", domain), ("scope", scope), ("result", result)]))
    auth: Node = ("auth_results", spf + dkim if layout in ("hotmail", "linkedin") else dkim + spf)
    ids: Node = ("identifiers", identifiers)
    if layout == "mailru2013":
        return ("record", [auth, row, ids])
    return ("record", [row, ids, auth])


def _write(node: Node, indent: str, depth: int, newline: str, out: list[str]) -> None:
    name, content = node
    pad = newline + indent * depth if newline else ""
    if content is None:
        out.append(f"{pad}<{name}/>" if newline or name == "human_result" else f"<{name}></{name}>")
    elif isinstance(content, str):
        out.append(f"{pad}<{name}>{content}</{name}>")
    else:
        out.append(f"{pad}<{name}>")
        for child in content:
            _write(child, indent, depth + 1, newline, out)
        out.append(f"{pad}</{name}>")


def report(layout: str, rng: random.Random, number: int, records: int) -> bytes:
    """One aggregate report of `records` records in `layout`'s shape."""
    org, email = _ORG[layout]
    domain = f"customer{rng.randrange(300)}.example"
    begin = 1_700_000_000 + rng.randrange(365) * 86400
    ips = [_ip(rng) for _ in range(max(1, min(records, 2000) // 3))]
    newline = {"mailru2013": "", "hotmail": "\r\n"}.get(layout, "\n")
    aol = layout.startswith("aol")
    indent = "    " if aol else "  "
    head: list[Node] = [
        (
            "report_metadata",
            [
                ("org_name", org),
                ("email", email),
                ("report_id", f"{layout}.{number}.{rng.getrandbits(40):x}"),
                ("date_range", [("begin", str(begin)), ("end", str(begin + 86399))]),
            ],
        ),
        (
            "policy_published",
            [
                ("domain", domain),
                ("adkim", "r"),
                ("aspf", "r"),
                ("p", rng.choice(["none", "quarantine", "reject"])),
                ("sp", "none"),
                ("pct", "100"),
            ],
        ),
    ]
    out: list[str] = []
    for node in head:
        _write(node, indent, 1, newline, out)
    for _ in range(records):
        _write(_record_tree(layout, _draw(rng, domain, ips)), indent, 1, newline, out)
    encoding = "windows-1252" if aol else "UTF-8"
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>{newline}<feedback>'
        + "".join(out)
        + f"{newline}</feedback>{newline}"
    )
    data = text.encode("cp1252" if aol else "utf-8")
    return b"\xef\xbb\xbf" + data if layout == "hotmail" else data


# parsedmarc drops `aol2012`'s records (no verdicts in <policy_evaluated>), so the bench, which
# compares records, leaves that layout out; the tests read it.
BENCH_LAYOUTS = tuple(layout for layout in LAYOUTS if layout != "aol2012")


def generate(out: Path, files: int, seed: int) -> tuple[int, int]:
    """Write `files` reports in the receivers' layouts into `out` (emptied first): 90% of them
    hold 1 to 200 records, 10% thousands, and a third are gzipped. Returns (files, records)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    rng = random.Random(seed)
    records = 0
    for number in range(files):
        layout = BENCH_LAYOUTS[number % len(BENCH_LAYOUTS)]
        count = rng.randint(1, 200) if rng.random() < 0.9 else rng.randint(1_000, 9_000)
        data = report(layout, rng, number, count)
        name = f"{layout}-{number}.xml"
        if rng.random() < 1 / 3:
            (out / f"{name}.gz").write_bytes(gzip.compress(data, compresslevel=6))
        else:
            (out / name).write_bytes(data)
        records += count
    return files, records
