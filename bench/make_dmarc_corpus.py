"""Generate a corpus of DMARC aggregate reports of realistic shape, from a seed, for the benchmark.

Most reports are small (a handful of sources from one receiver for one day), some are medium and a few
are very large (up to 200,000 records, like a big mailbox provider's daily report for a bulk sender).
Records vary the way real ones do: several DKIM signatures, SPF on the envelope or HELO, override
reasons, forwarding, RFC 9990 namespaced reports. About a fifth are gzip, a few zip, a few attached
to an email. Everything goes to bench/out/dmarc-corpus/ (gitignored), never committed.

    python -m bench.make_dmarc_corpus [--size 1GB] [--seed 7] [--out DIR]
"""

from __future__ import annotations

import argparse
import gzip
import io
import random
import shutil
import zipfile
from email.message import EmailMessage
from pathlib import Path

OUT = Path(__file__).parent / "out" / "dmarc-corpus"

RECEIVERS = [
    ("google.com", "noreply-dmarc-support@google.com"),
    ("Outlook.com", "dmarcreport@microsoft.com"),
    ("Yahoo", "dmarchelp@yahooinc.com"),
    ("Mail.Ru", "dmarc_support@corp.mail.ru"),
    ("FastMail Pty Ltd", "dmarc@fastmail.com"),
    ("comcast.net", "dmarc_support@comcast.net"),
    ("Mimecast", "no-reply@mimecastreport.com"),
]
SERVICES = [
    (
        "amazonses.com",
        "smtp-out.amazonses.com",
        ["ug7nbtf4gccmlpwj322ax3p6ow6yfsug", "224i4yxa5dv7c2xz3womw6peuasteono"],
    ),
    ("sendgrid.net", "sendgrid.net", ["s1", "s2"]),
    ("mailgun.org", "mailgun.net", ["mx", "krs"]),
    ("mtasv.net", "mtasv.net", ["20230601pm"]),
    ("google.com", "google.com", ["google", "20230601"]),
    ("outlook.com", "protection.outlook.com", ["selector1", "selector2"]),
]
RESULTS_DKIM = ["pass"] * 8 + ["fail", "neutral", "temperror", "Pass"]
RESULTS_SPF = ["pass"] * 7 + ["fail", "softfail", "neutral", "none", "permerror"]
REASONS = ["forwarded", "local_policy", "mailing_list", "trusted_forwarder", "sampled_out", "other"]


def _size(text: str) -> int:
    units = {"KB": 1_000, "MB": 1_000_000, "GB": 1_000_000_000}
    text = text.strip().upper()
    for unit, factor in units.items():
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.08:
        return f"2001:db8:{rng.randrange(65536):x}:{rng.randrange(65536):x}::{rng.randrange(1, 65536):x}"
    return (
        f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    )


def _record(rng: random.Random, domain: str, ips: list[str], bounce: str) -> str:
    service, _, selectors = rng.choice(SERVICES)
    ip = rng.choice(ips)
    count = 1 if rng.random() < 0.6 else rng.randrange(2, 5000)
    forwarded = rng.random() < 0.1
    dkim_aligned = rng.random() < 0.75
    spf_aligned = rng.random() < 0.55 and not forwarded
    disposition = (
        "none" if (dkim_aligned or spf_aligned) else rng.choice(["none", "quarantine", "reject"])
    )
    envelope = (
        domain
        if spf_aligned
        else (f"bounce.{service}" if rng.random() < 0.7 else f"em{rng.randrange(9999)}.{domain}")
    )
    parts = [
        "  <record>\n    <row>\n",
        f"      <source_ip>{ip}</source_ip>\n      <count>{count}</count>\n",
        "      <policy_evaluated>\n",
        f"        <disposition>{disposition}</disposition>\n",
        f"        <dkim>{'pass' if dkim_aligned else 'fail'}</dkim>\n",
        f"        <spf>{'pass' if spf_aligned else 'fail'}</spf>\n",
    ]
    if forwarded or rng.random() < 0.03:
        parts.append(
            f"        <reason>\n          <type>{rng.choice(REASONS)}</type>\n          <comment></comment>\n        </reason>\n"
        )
    parts.append("      </policy_evaluated>\n    </row>\n    <identifiers>\n")
    if rng.random() < 0.3:
        parts.append(
            f"      <envelope_to>{rng.choice(['gmail.com', 'hotmail.com', 'example.net'])}</envelope_to>\n"
        )
    if rng.random() < 0.8:
        parts.append(f"      <envelope_from>{envelope}</envelope_from>\n")
    parts.append(
        f"      <header_from>{domain}</header_from>\n    </identifiers>\n    <auth_results>\n"
    )
    for _ in range(rng.choice([0, 1, 1, 1, 2, 2, 3])):
        signer = domain if (dkim_aligned and rng.random() < 0.7) else service
        parts.append(
            f"      <dkim>\n        <domain>{signer}</domain>\n        <selector>{rng.choice(selectors)}</selector>\n"
            f"        <result>{rng.choice(RESULTS_DKIM) if not dkim_aligned else 'pass'}</result>\n      </dkim>\n"
        )
    scopes = ["mfrom"] if rng.random() < 0.9 else ["helo", "mfrom"]
    for scope in scopes:
        spf_domain = envelope if scope == "mfrom" else f"mta{rng.randrange(99)}.{service}"
        parts.append(
            f"      <spf>\n        <domain>{spf_domain}</domain>\n        <scope>{scope}</scope>\n"
            f"        <result>{'pass' if spf_aligned else rng.choice(RESULTS_SPF)}</result>\n      </spf>\n"
        )
    parts.append("    </auth_results>\n  </record>\n")
    return "".join(parts)


def _report(rng: random.Random, number: int, records: int) -> tuple[str, str]:
    org, email = rng.choice(RECEIVERS)
    domain = f"customer{rng.randrange(500)}.example"
    begin = 1_700_000_000 + rng.randrange(365) * 86400
    rfc9990 = rng.random() < 0.15
    ips = [_ip(rng) for _ in range(max(1, min(records, 2000) // 3))]
    head = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">\n  <version>1.0</version>\n'
        if rfc9990
        else "<feedback>\n",
        f"  <report_metadata>\n    <org_name>{org}</org_name>\n    <email>{email}</email>\n",
        f"    <report_id>{number}.{rng.getrandbits(48):x}</report_id>\n",
        f"    <date_range>\n      <begin>{begin}</begin>\n      <end>{begin + 86399}</end>\n    </date_range>\n",
        "  </report_metadata>\n  <policy_published>\n",
        f"    <domain>{domain}</domain>\n    <adkim>{rng.choice('rs')}</adkim>\n    <aspf>r</aspf>\n",
        f"    <p>{rng.choice(['none', 'quarantine', 'reject'])}</p>\n",
    ]
    if rng.random() < 0.7:
        head.append(f"    <sp>{rng.choice(['none', 'quarantine', 'reject'])}</sp>\n")
    if not rfc9990:
        head.append("    <pct>100</pct>\n")
    head.append("  </policy_published>\n")
    bounce = f"em{rng.randrange(9999)}.{domain}"
    body = [_record(rng, domain, ips, bounce) for _ in range(records)]
    return f"{org.lower().replace(' ', '')}!{domain}!{begin}!{begin + 86399}!{number}", "".join(
        head
    ) + "".join(body) + "</feedback>\n"


def _records_for(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.70:
        return rng.randint(1, 20)
    if roll < 0.93:
        return rng.randint(20, 2_000)
    if roll < 0.99:
        return rng.randint(2_000, 20_000)
    return rng.randint(20_000, 200_000)


def _write(out: Path, name: str, xml: str, rng: random.Random) -> int:
    data = xml.encode()
    roll = rng.random()
    if roll < 0.2:
        path, blob = out / f"{name}.xml.gz", gzip.compress(data, compresslevel=5)
    elif roll < 0.25:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{name}.xml", data)
        path, blob = out / f"{name}.zip", buffer.getvalue()
    elif roll < 0.28 and len(data) < 5_000_000:
        message = EmailMessage()
        message["From"] = "noreply-dmarc-support@google.com"
        message["To"] = "dmarc@example.net"
        message["Subject"] = f"Report domain: example Submitter: google.com Report-ID: {name}"
        message.set_content("DMARC aggregate report attached.")
        message.add_attachment(
            gzip.compress(data), maintype="application", subtype="gzip", filename=f"{name}.xml.gz"
        )
        path, blob = out / f"{name}.eml", bytes(message)
    else:
        path, blob = out / f"{name}.xml", data
    path.write_bytes(blob)
    return len(data)


def generate(size: int, seed: int, out: Path) -> tuple[int, int, int]:
    """Write reports into `out` until their XML adds up to about `size` bytes; returns
    (reports, records, xml bytes)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    rng = random.Random(seed)
    total = reports = records = 0
    # One very large report first, so even small runs have the 200,000-record shape when it fits.
    while total < size:
        count = _records_for(rng) if reports else min(200_000, max(1, size // 2 // 900))
        count = max(1, min(count, (size - total) // 900 + 1))
        name, xml = _report(rng, reports, count)
        total += _write(out, name, xml, rng)
        reports += 1
        records += count
    return reports, records, total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size", default="1GB", help="total XML size, e.g. 50MB or 1GB (default 1GB)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    reports, records, total = generate(_size(args.size), args.seed, args.out)
    print(f"{reports:,} reports, {records:,} records, {total / 1e6:,.0f} MB of XML in {args.out}")


if __name__ == "__main__":
    main()
