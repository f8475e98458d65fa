"""Structured mutations of parser inputs, each driven by one `random.Random`.

The hypothesis tests (tests/fuzz/) draw the `Random` from `st.randoms()`, so a failing input
shrinks and replays; bench/fuzz_bench.py seeds one per input, so a run is the same every time. Both
use these generators, so what the bench counts is what the tests check.

Inputs are built from the real samples in tests/data/dmarc (their licence and source are there):
bytes flipped, cut, duplicated; XML elements renamed, swapped, duplicated, emptied or given odd text;
JSON values replaced by values of another type; then wrapped, sometimes several times, in gzip, zip,
an email (base64, quoted-printable or uuencode) or a mailbox, or garbage in those wrappers. SPF records are
built from a grammar of terms (every mechanism and modifier, macros, CIDR suffixes) and then
mutated; header blocks are built from real-looking Received / Authentication-Results / DKIM lines
and mutated.
"""

from __future__ import annotations

import base64
import binascii
import copy
import gzip
import io
import json
import quopri
import random
import re
import warnings
import zipfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data" / "dmarc"
# Seeds larger than this would make each run slow without finding more: the big sample is one
# report with many records, the same structure as the small ones.
_MAX_SEED_BYTES = 64 * 1024
_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"From ", b"<?xml", b"<", b"{", b"[")


@lru_cache(maxsize=1)
def dmarc_seeds() -> tuple[tuple[str, bytes], ...]:
    """(name, bytes) of every sample report in tests/data/dmarc small enough to mutate quickly."""
    seeds = []
    for path in sorted(DATA.rglob("*")):
        if not path.is_file() or path.name in ("LICENSE", "SOURCE.md"):
            continue
        data = path.read_bytes()
        if 0 < len(data) <= _MAX_SEED_BYTES:
            seeds.append((path.name, data))
    return tuple(seeds)


def _plain(kind: str) -> list[bytes]:
    return [data for _, data in dmarc_seeds() if _looks(data) == kind]


def _looks(data: bytes) -> str:
    text = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return "xml"
    if text.startswith((b"{", b"[")):
        return "json"
    return "other"


# ---- bytes ------------------------------------------------------------------------------------


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    """One to four byte-level edits: flip, cut, duplicate, delete, insert magic or garbage."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(7)
        size = len(out)
        at = rng.randrange(size + 1)
        if choice == 0 and size:  # flip a few bytes
            for _ in range(rng.randint(1, 8)):
                out[rng.randrange(size)] ^= 1 << rng.randrange(8)
        elif choice == 1:  # truncate
            del out[at:]
        elif choice == 2 and size:  # duplicate a slice somewhere else
            start = rng.randrange(size)
            piece = out[start : start + rng.randint(1, 512)]
            out[at:at] = piece * rng.randint(1, 4)
        elif choice == 3 and size:  # delete a slice
            del out[at : at + rng.randint(1, 256)]
        elif choice == 4:  # a format's magic number where it does not belong
            out[at:at] = rng.choice(_MAGIC)
        elif choice == 5:  # random bytes
            out[at:at] = rng.randbytes(rng.randint(1, 64))
        elif size:  # replace a byte with a special one
            out[rng.randrange(size)] = rng.choice(b"\x00\xff<>&;\"'\r\n%=:@")
    return bytes(out)


# ---- XML --------------------------------------------------------------------------------------

_TAG = re.compile(rb"<(/?)([A-Za-z_][\w:.\-]*)")
_ELEMENT = re.compile(rb"<([A-Za-z_][\w:.\-]*)[^>]*>[^<]*</\1>")
_TEXT = re.compile(rb">([^<]+)<")
_ODD_TEXT = (
    b"",
    b" ",
    b"-1",
    b"0",
    b"99999999999999999999999999",
    b"1" * 5000,
    b"1e400",
    b"nan",
    b"1.5",
    b"\xc3\xa9t\xc3\xa9",
    b"\xff\xfe",
    b"&amp;&lt;&#0;&#xFFFFFFFF;",
    b"&unknown;",
    b"<![CDATA[x]]>",
    b"::ffff:1.2.3.4",
    b"300.1.2.3",
    b"2001:db8::/129",
    b"a" * 300,
    b"xn--zz-",
    b"pass fail",
    b"PASS",
    b"\x00",
    b"\t\n",
    b"-9223372036854775809",
    b"18446744073709551616",
    b"253402300800",
)
_ODD_PROLOGUE = (
    b'<?xml version="1.0" encoding="utf-16"?>',
    b'<?xml version="1.0" encoding="bogus-charset"?>',
    b'<?xml version="1.0" encoding="latin-1"?>',
    b'<?xml version="1.1"?>',
    b"<!-- comment -->" * 3,
    b'<!DOCTYPE feedback [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    b'<!-- x --><!DOCTYPE feedback SYSTEM "file:///etc/passwd">',
    b"<?xml-stylesheet href='x'?>",
    b"\xef\xbb\xbf",
    b"<?xml ",
)


def mutate_xml(rng: random.Random, data: bytes) -> bytes:
    """One to four structural edits of an XML document; then, sometimes, byte-level edits."""
    out = data
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(8)
        if choice == 0:  # rename one tag (opening or closing) to another tag of the document
            tags = list(_TAG.finditer(out))
            if tags:
                tag = rng.choice(tags)
                other = rng.choice(tags).group(2)
                out = out[: tag.start(2)] + other + out[tag.end(2) :]
        elif choice == 1:  # swap two elements
            elements = list(_ELEMENT.finditer(out))
            if len(elements) >= 2:
                a, b = sorted(rng.sample(elements, 2), key=lambda m: m.start())
                if a.end() <= b.start():
                    out = (
                        out[: a.start()]
                        + b.group(0)
                        + out[a.end() : b.start()]
                        + a.group(0)
                        + out[b.end() :]
                    )
        elif choice == 2:  # duplicate an element, sometimes many times
            elements = list(_ELEMENT.finditer(out))
            if elements:
                element = rng.choice(elements)
                copies = rng.choice((1, 2, 50))
                out = out[: element.end()] + element.group(0) * copies + out[element.end() :]
        elif choice == 3:  # drop an element
            elements = list(_ELEMENT.finditer(out))
            if elements:
                element = rng.choice(elements)
                out = out[: element.start()] + out[element.end() :]
        elif choice == 4:  # odd text content
            texts = list(_TEXT.finditer(out))
            if texts:
                text = rng.choice(texts)
                out = out[: text.start(1)] + rng.choice(_ODD_TEXT) + out[text.end(1) :]
        elif choice == 5:  # an odd prologue
            body = re.sub(rb"^\s*<\?xml[^>]*\?>", b"", out, count=1)
            out = rng.choice(_ODD_PROLOGUE) + body
        elif choice == 6:  # cut inside a tag
            tags = list(_TAG.finditer(out))
            if tags:
                out = out[: rng.choice(tags).end()]
        else:  # a namespace or attribute where none is expected
            tags = [t for t in _TAG.finditer(out) if not t.group(1)]
            if tags:
                tag = rng.choice(tags)
                attribute = rng.choice(
                    (
                        b' xmlns="urn:x"',
                        b' xmlns:a="b" a:c="d"',
                        b' x="&#0;"',
                        b" x=",
                        b' x="1"' * 3,
                    )
                )
                out = out[: tag.end()] + attribute + out[tag.end() :]
    if rng.random() < 0.25:
        out = mutate_bytes(rng, out)
    return out


# ---- JSON -------------------------------------------------------------------------------------

_ODD_JSON: tuple[Any, ...] = (
    None,
    0,
    -1,
    1.5,
    10**30,
    "",
    "x",
    "1e400",
    [],
    {},
    [1, "a", None],
    {"a": []},
    True,
    "2019-04-12T00:00:00",
    "2019-04-12T00:00:00Z",
    "not a date",
)


def mutate_json(rng: random.Random, data: bytes) -> bytes:
    """Values of the document replaced by values of other types, keys dropped; or raw bytes edited."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return mutate_bytes(rng, data)
    for _ in range(rng.randint(1, 4)):
        document = _mutate_value(rng, document, depth=0)
    text = json.dumps(document).encode()
    choice = rng.randrange(6)
    if choice == 0:  # numbers json.dumps will not write
        text = re.sub(
            rb"\d+",
            rng.choice((b"1e400", b"-1e400", b"NaN", b"Infinity", b"1" * 5000)),
            text,
            count=1,
        )
    elif choice == 1:  # deep nesting inside one value
        depth = rng.choice((50, 5000))
        text = text.replace(b"[", b"[" * depth, 1).replace(b"]", b"]" * depth, 1)
    elif choice == 2:
        text = mutate_bytes(rng, text)
    return text


def _mutate_value(rng: random.Random, value: Any, depth: int) -> Any:
    if isinstance(value, dict) and value and depth < 6:
        key = rng.choice(list(value))
        roll = rng.random()
        if roll < 0.15:
            del value[key]
        elif roll < 0.45:
            value[key] = _odd_json(rng)
        else:
            value[key] = _mutate_value(rng, value[key], depth + 1)
        return value
    if isinstance(value, list) and value and depth < 6:
        index = rng.randrange(len(value))
        roll = rng.random()
        if roll < 0.15:
            value.append(copy.deepcopy(value[index]))
        elif roll < 0.45:
            value[index] = _odd_json(rng)
        else:
            value[index] = _mutate_value(rng, value[index], depth + 1)
        return value
    return _odd_json(rng)


def _odd_json(rng: random.Random) -> Any:
    return copy.deepcopy(rng.choice(_ODD_JSON))  # the same list must not end up inside itself


# ---- wrappers ---------------------------------------------------------------------------------


def wrap_gzip(rng: random.Random, data: bytes) -> bytes:
    packed = gzip.compress(data, mtime=0)
    roll = rng.random()
    if roll < 0.15:  # truncated stream
        packed = packed[: rng.randrange(len(packed))]
    elif roll < 0.25:  # trailing junk (as Mimecast sends)
        packed += rng.randbytes(rng.randint(1, 4))
    elif roll < 0.35:  # two members
        packed += gzip.compress(data, mtime=0)
    elif roll < 0.45:  # corrupt body
        body = bytearray(packed)
        body[rng.randrange(10, max(11, len(body)))] ^= 0xFF
        packed = bytes(body)
    return packed


_MEMBER_NAMES = (
    "report.xml",
    "report.json",
    "a/b/../c.xml",
    "",
    "x" * 300,
    "report.xml.gz",
    "é.xml",
)


def wrap_zip(rng: random.Random, data: bytes) -> bytes:
    buffer = io.BytesIO()
    method = rng.choice((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED))
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", method) as archive:
        warnings.simplefilter("ignore")  # duplicate member names are part of the mutation
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            name = rng.choice(_MEMBER_NAMES) or "noname"
            archive.writestr(name, data if rng.random() < 0.8 else rng.randbytes(32))
        if rng.random() < 0.1:
            archive.writestr("dir/", b"")
    packed = buffer.getvalue()
    roll = rng.random()
    if roll < 0.15:
        packed = packed[: rng.randrange(len(packed))]
    elif roll < 0.3:
        packed = mutate_bytes(rng, packed)
    return packed


def wrap_email(rng: random.Random, data: bytes) -> bytes:
    content_type = rng.choice(
        (
            b"application/gzip",
            b"application/zip",
            b"text/xml",
            b"application/xml",
            b"application/octet-stream",
            b"message/feedback-report",
            b"application/json",
            b"application/tlsrpt+gzip",
            b"multipart/mixed",
        )
    )
    encoding = rng.randrange(5)
    if encoding == 4:
        lines = [binascii.b2a_uu(data[i : i + 45]) for i in range(0, len(data), 45)]
        body, name = b"begin 644 report.xml\n" + b"".join(lines) + b"`\nend\n", b"x-uuencode"
    elif encoding == 0:
        body, name = base64.encodebytes(data), b"base64"
    elif encoding == 1:
        body, name = quopri.encodestring(data), b"quoted-printable"
    elif encoding == 2:
        body, name = data, b"8bit"
    else:  # a broken base64 body
        body, name = base64.encodebytes(data)[:-3] + b"!!\n", b"base64"
    boundary = b"==b" + str(rng.randrange(10**6)).encode()
    headers = (
        b"From: noreply-dmarc-support@google.com\r\n"
        b"To: dmarc@example.com\r\n"
        b"Subject: Report domain: example.com Submitter: google.com\r\n"
        b"MIME-Version: 1.0\r\n"
    )
    if rng.random() < 0.3:  # the attachment is the whole body
        return (
            headers
            + b"Content-Type: "
            + content_type
            + b"\r\nContent-Transfer-Encoding: "
            + name
            + b"\r\n\r\n"
            + body
        )
    return (
        headers
        + b'Content-Type: multipart/mixed; boundary="'
        + boundary
        + b'"\r\n\r\n--'
        + boundary
        + b"\r\nContent-Type: text/plain\r\n\r\nThis is a DMARC report.\r\n--"
        + boundary
        + b"\r\nContent-Type: "
        + content_type
        + b'; name="report.xml"\r\nContent-Disposition: attachment; filename="report.xml"'
        + b"\r\nContent-Transfer-Encoding: "
        + name
        + b"\r\n\r\n"
        + body
        + (b"\r\n--" + boundary + b"--\r\n" if rng.random() < 0.8 else b"")
    )


def wrap_mbox(rng: random.Random, data: bytes) -> bytes:
    messages = [wrap_email(rng, data) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.3:
        messages.append(b"Subject: not a report\r\n\r\nhello\r\n")
    return b"".join(b"From MAILER-DAEMON Mon Jan  1 00:00:00 2024\n" + m + b"\n" for m in messages)


WRAPPERS: tuple[Callable[[random.Random, bytes], bytes], ...] = (
    wrap_gzip,
    wrap_zip,
    wrap_email,
    wrap_mbox,
)


def report_input(rng: random.Random) -> bytes:
    """One mutated report input: a mutated sample, garbage, or either inside wrappers."""
    seeds = dmarc_seeds()
    roll = rng.random()
    if roll < 0.35:
        data = mutate_xml(rng, rng.choice(_plain("xml")))
    elif roll < 0.45:
        data = mutate_json(rng, rng.choice(_plain("json")))
    elif roll < 0.75:
        data = mutate_bytes(rng, rng.choice(seeds)[1])
    elif roll < 0.85:
        data = rng.choice(seeds)[1]  # an unmutated sample, to be wrapped below
    else:
        data = rng.choice(_MAGIC) + rng.randbytes(rng.randint(0, 512))
    for _ in range(rng.choice((0, 0, 1, 1, 2, 6))):  # 6 nests deeper than the reader allows
        data = rng.choice(WRAPPERS)(rng, data)
    return data


# ---- SPF --------------------------------------------------------------------------------------

SPF_DOMAINS = ("fuzz.test", "a.fuzz.test", "b.fuzz.test", "loop.fuzz.test", "missing.fuzz.test")
_MACROS = (
    "%{s}",
    "%{l}",
    "%{o}",
    "%{d}",
    "%{i}",
    "%{p}",
    "%{v}",
    "%{h}",
    "%{d2}",
    "%{ir}",
    "%{l-}",
    "%{d1r+-}",
    "%{S}",
    "%%",
    "%_",
    "%-",
    "%{c}",
    "%{t}",
    "%{x}",
    "%{d0}",
    "%{d999999999999}",
    "%",
    "%{",
)


def spf_domain_spec(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.6:
        return rng.choice(SPF_DOMAINS)
    if roll < 0.85:
        return rng.choice(_MACROS) + "." + rng.choice(SPF_DOMAINS)
    return rng.choice(
        (
            "museum",
            "1.2.3.4",
            "",
            ".",
            "..",
            "a" * 64 + ".test",
            "x." * 130 + "test",
            "é.test",
            "-.test",
        )
    )


def _cidr(rng: random.Random, four: bool = True, six: bool = True) -> str:
    parts = ""
    if four and rng.random() < 0.3:
        parts += "/" + str(rng.choice((0, 8, 24, 32, 33, -1, 999999999999)))
    if six and rng.random() < 0.3:
        parts += "//" + str(rng.choice((0, 48, 128, 129)))
    return parts


def spf_term(rng: random.Random) -> str:
    qualifier = rng.choice(("", "", "+", "-", "~", "?", "!"))
    name = rng.choice(
        ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists", "redirect", "exp", "unknown")
    )
    if name == "all":
        return qualifier + "all"
    if name in ("include", "exists"):
        return qualifier + name + ":" + spf_domain_spec(rng)
    if name in ("a", "mx"):
        target = ":" + spf_domain_spec(rng) if rng.random() < 0.6 else ""
        return qualifier + name + target + _cidr(rng)
    if name == "ptr":
        return qualifier + "ptr" + (":" + spf_domain_spec(rng) if rng.random() < 0.5 else "")
    if name == "ip4":
        address = rng.choice(("192.0.2.1", "127.0.0.1", "0.0.0.0", "256.1.1.1", "1.2.3", "::1"))
        return qualifier + "ip4:" + address + _cidr(rng, six=False)
    if name == "ip6":
        address = rng.choice(("2001:db8::1", "::1", "::ffff:127.0.0.1", "fe80::1%eth0", "1.2.3.4"))
        return qualifier + "ip6:" + address + _cidr(rng, four=False)
    if name in ("redirect", "exp"):
        return name + "=" + spf_domain_spec(rng)
    return rng.choice(("moo=bar", "x-y.z=%{d}", "=", "a=b=c"))


def spf_record(rng: random.Random) -> str:
    """A record built from the grammar, then sometimes mutated as text."""
    terms = [spf_term(rng) for _ in range(rng.choice((0, 1, 2, 3, 5, 12, 40)))]
    version = rng.choice(("v=spf1", "v=spf1", "v=spf1", "V=SPF1", "v=spf10", "v=spf2.0/pra", ""))
    separator = rng.choice((" ", " ", "  ", "\t"))
    record = separator.join([version, *terms])
    roll = rng.random()
    if roll < 0.2:
        chars = list(record)
        for _ in range(rng.randint(1, 5)):
            at = rng.randrange(len(chars) + 1)
            chars.insert(at, rng.choice(":=/%{}.-+ \x00\x7fé\n"))
        record = "".join(chars)
    elif roll < 0.3 and record:
        at = rng.randrange(len(record))
        record = record[:at]
    elif roll < 0.35:
        record = record + " " + "a:%{d}." * 200
    return record


def macro_text(rng: random.Random) -> str:
    pieces = [
        rng.choice(_MACROS)
        if rng.random() < 0.5
        else rng.choice(("a", ".", "-", " ", "x.test", "é"))
        for _ in range(rng.randint(0, 8))
    ]
    text = "".join(pieces)
    if rng.random() < 0.2 and text:
        at = rng.randrange(len(text))
        text = text[:at] + rng.choice("%{}0123456789rR-.") + text[at:]
    return text


def spf_zone(rng: random.Random) -> dict[str, Any]:
    """Zone data whose TXT records are fuzzed SPF records (sometimes several, or raw bytes)."""
    zone: dict[str, Any] = {}
    for name in SPF_DOMAINS[:-1]:
        txt: list[Any] = [spf_record(rng) for _ in range(rng.choice((1, 1, 1, 2, 0)))]
        if rng.random() < 0.1:
            txt.append(rng.randbytes(rng.randint(1, 40)))
        if rng.random() < 0.1:
            txt.append(["v=spf1 ", "a" * 255, " -all"])
        entry: dict[str, Any] = {"A": ["127.0.0.1"], "MX": ["10 " + rng.choice(SPF_DOMAINS)]}
        if txt:
            entry["TXT"] = txt
        zone[name] = entry
    zone["loop.fuzz.test"]["TXT"] = ["v=spf1 include:loop.fuzz.test redirect=fuzz.test"]
    zone["1.0.0.127.in-addr.arpa"] = {"PTR": [rng.choice(SPF_DOMAINS) + "."]}
    return zone


# ---- headers ----------------------------------------------------------------------------------

_HEADER_LINES = (
    b"Received: from mail-sor-f41.google.com (mail-sor-f41.google.com [209.85.220.41])\r\n"
    b"        by mx.example.com with ESMTPS id abc123\r\n"
    b"        for <user@example.com>; Tue, 24 Nov 2026 08:00:00 +0000 (UTC)\r\n",
    b"Received: from o1.ptr1234.sendgrid.net (o1.ptr1234.sendgrid.net. [167.89.1.2])\r\n"
    b"        by mx.google.com with ESMTPS id x; Tue, 24 Nov 2026 07:59:58 -0800 (PST)\r\n",
    b"Received: by 10.0.0.1 with SMTP id y; Tue, 24 Nov 2026 07:59:57 -0800\r\n",
    b"Authentication-Results: mx.google.com;\r\n"
    b"       dkim=pass header.i=@example.com header.s=s1 header.b=abc;\r\n"
    b"       spf=fail (google.com: domain of bounces@example.com does not designate 167.89.1.2 as permitted sender) smtp.mailfrom=bounces@example.com;\r\n"
    b"       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com\r\n",
    b"Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=em1234.example.com; dkim=none\r\n",
    b"ARC-Authentication-Results: i=1; mx.microsoft.com 1; spf=pass; dmarc=pass action=none header.from=example.com; dkim=pass header.d=example.com\r\n",
    b"Received-SPF: pass (google.com: domain of x@example.com designates 1.2.3.4 as permitted sender) client-ip=1.2.3.4;\r\n",
    b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s1;\r\n"
    b"        h=from:to:subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n"
    b"        b=dGVzdA==\r\n",
    b"Return-Path: <bounces+123@em1234.example.com>\r\n",
    b"From: Example <news@example.com>\r\n",
    b"To: user@example.net\r\n",
    b"Subject: =?utf-8?b?SGVsbG8=?=\r\n",
    b"Date: Tue, 24 Nov 2026 08:00:00 +0000\r\n",
    b"Message-ID: <abc@example.com>\r\n",
)
_HEADER_ODD = (
    b"Received: from [::1] by [300.1.2.3]; not a date\r\n",
    b"Received: ;\r\n",
    b"Authentication-Results: ;;;; =\r\n",
    b"Authentication-Results: x; spf=\r\n",
    b"Authentication-Results: mx; dkim=pass header.d=\xff\xfe; dmarc=(\r\n",
    b"From: <<>>@\r\n",
    b"From: =?bogus?q?=ff?=\r\n",
    b"DKIM-Signature: v=1; d=; s=; b\r\n",
    b"Date: Mon, 99 Foo 99999 99:99:99 +9999\r\n",
    b"X-Long: " + b"a" * 20000 + b"\r\n",
    b" continuation without a header\r\n",
    b"no colon here\r\n",
    b"\r\n",
    b"Received: " + b"from x (y [1.2.3.4]) " * 200 + b"\r\n",
)


# Pastes far larger than real headers, in the shapes that cost a reader most: many results in one
# header, deep comments, one long address, thousands of headers.
_HEADER_OVERSIZED = (
    (b"Authentication-Results: mx.example.com; ", b"spf=pass;"),
    (b"Authentication-Results: mx.example.com; spf=pass ", b"("),
    (b"From: ", b"<"),
    (b"From: a@example.com\r\n", b"Authentication-Results: x; spf=pass\r\n"),
    (b"From: a@example.com\r\nDKIM-Signature: ", b"d=x; "),
)


def header_block(rng: random.Random, *, oversized: bool = True) -> bytes:
    """A header block (sometimes with a body) from real-looking lines, shuffled and mutated; with
    `oversized`, one in a hundred is a paste of 100-500 kB in one of the costly shapes."""
    if oversized and rng.random() < 0.01:
        head, unit = rng.choice(_HEADER_OVERSIZED)
        return head + unit * (rng.randint(100_000, 500_000) // len(unit))
    lines = [rng.choice(_HEADER_LINES) for _ in range(rng.randint(0, 12))]
    for _ in range(rng.randint(0, 3)):
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(_HEADER_ODD))
    block = b"".join(lines)
    roll = rng.random()
    if roll < 0.25:
        block = mutate_bytes(rng, block)
    elif roll < 0.35:
        block = block.replace(b"\r\n", rng.choice((b"\n", b"\r", b"")))
    if rng.random() < 0.3:
        block += b"\r\nbody text\r\n"
    if rng.random() < 0.1:
        block = block * rng.randint(2, 50)
    return block


def header_text(rng: random.Random, *, oversized: bool = True) -> str:
    """`header_block` as the pasted text `diagnostics.headers.analyze` takes."""
    block = header_block(rng, oversized=oversized)
    if rng.random() < 0.5:
        text = block.decode("latin-1")  # every byte value becomes a character
    else:
        text = block.decode("utf-8", errors="replace")
    if rng.random() < 0.1:
        at = rng.randrange(len(text) + 1)
        text = (
            text[:at]
            + rng.choice(("\ufeff", "\u2028", "\x00", "\udcff", "é", "\u202e"))
            + text[at:]
        )
    return text


# ---- bombs (issue 13's shapes, small) ---------------------------------------------------------

_BOMB_HEAD = (
    b'<?xml version="1.0"?>\n<feedback><report_metadata><org_name>bomb.test</org_name>'
    b"<email>a@bomb.test</email><report_id>1</report_id><date_range><begin>1700000000</begin>"
    b"<end>1700086399</end></date_range></report_metadata><policy_published><domain>example.com"
    b"</domain><p>none</p></policy_published>\n"
)
_MiB = 1024 * 1024


def _deflate(parts: list[bytes], repeat: int, wbits: int) -> bytes:
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    out = [compressor.compress(parts[0])]
    out += [compressor.compress(parts[1]) for _ in range(repeat)]
    out += [compressor.compress(parts[2]), compressor.flush()]
    return b"".join(out)


@lru_cache(maxsize=1)
def bomb_templates() -> tuple[bytes, ...]:
    """The bombs of bench/bomb_bench.py at 8 to 16 MiB (built once per process): each is stopped by
    the ratio after its first MiB, so a call stays far under the hang guard."""
    spaces, zeros = b" " * _MiB, bytes(_MiB)
    gzip_bomb = _deflate([_BOMB_HEAD, spaces, b"</feedback>"], 16, 31)
    zip_member = io.BytesIO()
    with zipfile.ZipFile(zip_member, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("report.xml", _BOMB_HEAD + spaces * 16 + b"</feedback>")
    zip_bomb = zip_member.getvalue()
    nested = io.BytesIO()
    with zipfile.ZipFile(nested, "w", zipfile.ZIP_STORED) as archive:
        for index in range(10):
            archive.writestr(f"inner{index}.zip", zip_bomb)
            archive.writestr(f"r{index}.xml.gz", gzip_bomb)
    detail = b'{"result-type":"certificate-expired","failed-session-count":1},'
    tls = _deflate(
        [
            b'{"organization-name":"bomb.test","date-range":{},"policies":[{"policy":{},'
            b'"failure-details":[',
            detail * 16_000,
            b'{"result-type":"x"}]}]}',
        ],
        10,
        31,
    )
    attribute = _deflate([b'<?xml version="1.0"?>\n<feedback note="', b"A" * _MiB, b'">'], 12, 31)
    attachment = base64.encodebytes(_BOMB_HEAD + b" " * (_MiB // 2) + b"</feedback>")
    eml = (
        b"From: bomb@bomb.test\nSubject: Report\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: application/xml\n'
        b"Content-Transfer-Encoding: base64\n\n" + attachment + b"--b--\n"
    )
    return (
        gzip_bomb,
        _deflate([_BOMB_HEAD, zeros, b""], 16, 31),
        zip_bomb,
        nested.getvalue(),
        tls,
        attribute,
        eml,
    )


def bomb_input(rng: random.Random) -> bytes:
    """One of issue 13's bomb shapes, now and then damaged or wrapped once more."""
    data = rng.choice(bomb_templates())
    if rng.random() < 0.2:
        data = mutate_bytes(rng, data)
    for _ in range(rng.choice((0, 0, 1, 2))):
        data = rng.choice(WRAPPERS)(rng, data)
    return data
