"""DKIM public-key records: read one (RFC 6376 3.6.1) and check a selector as published in DNS.

    parse_key_record(text) -> KeyRecord                        pure: tags, key type and size, findings
    check_selector(domain, selector, *, expected_cname=None, resolver=None) -> SelectorCheck
    await check_selector_async(...) -> SelectorCheck
    selector_flow(domain, selector, *, expected_cname=None)    both, as one DNS flow (_flow.py)

A support person wants to know whether a receiver can verify the signatures a provider makes: is
the key there, is the CNAME that a provider hosting the key asks for pointing at the right place, is
the key strong enough (RFC 8301: under 1024 bits must not be accepted; 1024 is weak), is it still in
testing (t=y) or revoked (p= empty). Every outcome is a value with findings; nothing here raises for
what DNS or the record holds.

The parser is our own rather than dkimpy's `parse_tag_value`: dkimpy raises on the first problem,
and a support screen wants every problem at once, each with its fix.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Generator
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from diagnostics._flow import Question, run_flow, run_flow_async
from diagnostics.dns import Answer, Resolver, Status, get_resolver, normalize_name
from diagnostics.errors import InvalidInput
from diagnostics.findings import Finding, Severity
from diagnostics.verdict import Verdict, verdict_of

__all__ = [
    "KeyRecord",
    "KeyType",
    "SelectorCheck",
    "check_selector",
    "check_selector_async",
    "parse_key_record",
    "readable_target",
    "selector_flow",
]

# RFC 8301 3.2: verifiers MUST NOT consider keys under 1024 bits valid; signers SHOULD use 2048.
MIN_RSA_BITS = 1024
GOOD_RSA_BITS = 2048
_ED25519_KEY_BYTES = 32
_KNOWN_TAGS = frozenset(["v", "g", "h", "k", "n", "p", "s", "t"])
_TAG = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# A TXT string at the name counts as a key record when it says so (v=DKIM1) or carries a key tag;
# other TXT records that happen to sit there (site verification) are not ours to judge.
_KEY_RECORD = re.compile(r"(?:^|;)\s*(?:v\s*=\s*DKIM1|p\s*=|k\s*=)", re.IGNORECASE)


class KeyType(StrEnum):
    """The k= of a key record: the algorithms receivers know (RFC 6376, RFC 8463)."""

    RSA = "rsa"
    ED25519 = "ed25519"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A parsed key record. `key_type` is None when k= names a type we do not know; `bits` is the
    RSA modulus size (256 for ed25519, None when the key could not be read). `tags` keeps every
    tag as published. `findings` are problems with the record itself, errors first."""

    text: str
    tags: tuple[tuple[str, str], ...]
    key_type: KeyType | None
    bits: int | None
    hash_algorithms: tuple[str, ...]
    service_types: tuple[str, ...]
    flags: tuple[str, ...]
    findings: tuple[Finding, ...] = ()

    @property
    def testing(self) -> bool:
        """t=y: receivers treat signatures like unsigned mail."""
        return "y" in self.flags

    @property
    def revoked(self) -> bool:
        """p= present but empty (RFC 6376 3.6.1): the key was withdrawn."""
        return dict(self.tags).get("p", None) == ""

    @property
    def usable(self) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.findings)


@dataclass(frozen=True, slots=True)
class SelectorCheck:
    """What `SELECTOR._domainkey.DOMAIN` holds. `cname` is the CNAME target when the name is one;
    `key` the parsed record (None when there is none or several); `records` the TXT strings found."""

    domain: str
    selector: str
    name: str
    status: Verdict
    cname: str | None = None
    key: KeyRecord | None = None
    records: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = field(default=())

    @property
    def present(self) -> bool:
        return bool(self.records)

    def to_dict(self) -> dict[str, object]:
        key = self.key
        return {
            "domain": self.domain,
            "selector": self.selector,
            "name": self.name,
            "status": self.status.value,
            "cname": self.cname,
            "records": list(self.records),
            "key_type": key.key_type.value if key and key.key_type else None,
            "bits": key.bits if key else None,
            "testing": key.testing if key else None,
            "revoked": key.revoked if key else None,
            "findings": [f.to_dict() for f in self.findings],
        }


def _split_tags(text: str) -> tuple[list[tuple[str, str]], list[Finding]]:
    tags: list[tuple[str, str]] = []
    findings: list[Finding] = []
    for part in text.split(";"):
        if not part.strip():
            continue  # a trailing ";" is allowed
        name, eq, value = part.partition("=")
        name = name.strip()
        if not eq or not _TAG.fullmatch(name):
            findings.append(
                Finding(
                    "syntax_error",
                    Severity.ERROR,
                    f"{part.strip()!r} is not a tag=value pair; DKIM key records are "
                    "'tag=value' pairs separated by ';'.",
                    part.strip(),
                )
            )
            continue
        if any(existing == name for existing, _ in tags):
            findings.append(
                Finding(
                    "duplicate_tag",
                    Severity.ERROR,
                    f"The tag {name}= appears twice; RFC 6376 makes the whole record invalid.",
                    name,
                )
            )
            continue
        # Folding white space may sit anywhere in a value (long p= split across strings).
        tags.append((name, re.sub(r"\s+", "", value) if name == "p" else value.strip()))
    _, semicolon, after = text.rpartition(";")
    if semicolon and after and not after.strip():
        # RFC 6376 3.2: tag-list = tag-spec *(";" tag-spec) [";"]. After a final ";" only the
        # end may come; white space there would begin a tag-spec that never follows.
        findings.append(
            Finding(
                "syntax_error",
                Severity.ERROR,
                "White space follows the last ';'. RFC 6376 allows nothing after a final ';', so "
                "strict verifiers discard the whole record (many others accept it). Remove the "
                "trailing space.",
                "';'",
            )
        )
    return tags, findings


def _rsa_bits(der: bytes) -> int | None:
    """Modulus size of an RSA key given as SubjectPublicKeyInfo or, as some publish it, as a bare
    PKCS#1 RSAPublicKey."""
    try:
        key = load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        pem = b"-----BEGIN RSA PUBLIC KEY-----\n" + base64.encodebytes(der)
        pem += b"-----END RSA PUBLIC KEY-----\n"
        try:
            key = load_pem_public_key(pem)
        except (ValueError, UnsupportedAlgorithm):
            return None
    return key.key_size if isinstance(key, rsa.RSAPublicKey) else None


def _key_findings(key_type: KeyType, data: bytes) -> tuple[int | None, list[Finding]]:
    if key_type is KeyType.ED25519:
        if len(data) != _ED25519_KEY_BYTES:
            return None, [
                Finding(
                    "bad_key",
                    Severity.ERROR,
                    f"An ed25519 key is 32 bytes (RFC 8463); p= holds {len(data)}. Copy the key "
                    "again from where it was made.",
                    "p",
                )
            ]
        ed25519.Ed25519PublicKey.from_public_bytes(data)
        return 256, []
    bits = _rsa_bits(data)
    if bits is None:
        return None, [
            Finding(
                "bad_key",
                Severity.ERROR,
                "p= is not an RSA public key (it does not decode as one); receivers cannot verify "
                "any signature with it. Copy the whole key again: it is often cut off at 255 "
                "characters by a DNS editor.",
                "p",
            )
        ]
    if bits < MIN_RSA_BITS:
        return bits, [
            Finding(
                "key_too_short",
                Severity.ERROR,
                f"The RSA key is {bits} bits; receivers ignore keys under {MIN_RSA_BITS} bits "
                f"(RFC 8301), so DKIM fails. Make a new {GOOD_RSA_BITS}-bit key and publish it.",
                "p",
            )
        ]
    if bits < GOOD_RSA_BITS:
        return bits, [
            Finding(
                "key_weak",
                Severity.WARNING,
                f"The RSA key is {bits} bits; it still verifies, but {GOOD_RSA_BITS} bits is the "
                "recommended size (RFC 8301) and some receivers rate 1024-bit keys as weak. "
                f"Rotate to a {GOOD_RSA_BITS}-bit key when you can.",
                "p",
            )
        ]
    return bits, []


def parse_key_record(text: str) -> KeyRecord:
    """Parse the TXT value of a DKIM key record; problems are findings, never exceptions."""
    pairs, findings = _split_tags(text)
    tags = dict(pairs)
    if "v" in tags and pairs[0][0] != "v":
        findings.append(Finding("syntax_error", Severity.ERROR, "v= must be the first tag.", "v"))
    if "v" in tags and tags["v"] != "DKIM1":
        findings.append(
            Finding(
                "bad_version",
                Severity.ERROR,
                f"v={tags['v']}: the only version is DKIM1; receivers discard this record.",
                "v",
            )
        )
    unknown = [name for name, _ in pairs if name not in _KNOWN_TAGS]
    if unknown:
        findings.append(
            Finding(
                "unknown_tag",
                Severity.INFO,
                f"Unknown tag {unknown[0]} is ignored by receivers."
                if len(unknown) == 1
                else f"Unknown tags {', '.join(unknown)} are ignored by receivers.",
                ",".join(unknown),
            )
        )
    k = tags.get("k", "rsa").lower()
    key_type = KeyType(k) if k in {t.value for t in KeyType} else None
    if key_type is None:
        findings.append(
            Finding(
                "unknown_key_type",
                Severity.ERROR,
                f"k={k}: receivers only know rsa and ed25519, so they cannot use this key.",
                "k",
            )
        )
    hashes = tuple(h.strip().lower() for h in tags.get("h", "").split(":") if h.strip())
    if hashes and "sha256" not in hashes:
        findings.append(
            Finding(
                "sha1_only",
                Severity.ERROR,
                f"h={tags['h']} allows only SHA-1, which receivers no longer accept "
                "(RFC 8301). Remove h= or set h=sha256.",
                "h",
            )
        )
    services = tuple(s.strip().lower() for s in tags.get("s", "*").split(":") if s.strip())
    if "*" not in services and "email" not in services:
        findings.append(
            Finding(
                "not_for_email",
                Severity.ERROR,
                f"s={tags['s']}: the key is not for e-mail, so receivers will not use it. "
                "Remove s= or set s=email.",
                "s",
            )
        )
    flags = tuple(f.strip().lower() for f in tags.get("t", "").split(":") if f.strip())
    if "y" in flags:
        findings.append(
            Finding(
                "testing",
                Severity.WARNING,
                "t=y: the domain says it is testing DKIM, so receivers treat signed mail as "
                "unsigned. Remove t=y once signing works.",
                "t",
            )
        )
    bits: int | None = None
    if "p" not in tags:
        findings.append(
            Finding(
                "no_key",
                Severity.ERROR,
                "The record has no p= tag, so there is no key to verify with. Publish the whole "
                "record your provider shows.",
                "p",
            )
        )
    elif tags["p"] == "":
        findings.append(
            Finding(
                "revoked",
                Severity.ERROR,
                "p= is empty: this key was revoked, and every signature made with it fails. "
                "Publish the current key, or sign with another selector.",
                "p",
            )
        )
    elif key_type is not None:
        try:
            data = base64.b64decode(tags["p"], validate=True)
        except (binascii.Error, ValueError):
            findings.append(
                Finding(
                    "bad_key",
                    Severity.ERROR,
                    "p= is not valid base64, often because part of it was lost or a quote was "
                    "pasted in. Copy the key again.",
                    "p",
                )
            )
        else:
            bits, more = _key_findings(key_type, data)
            findings.extend(more)
    return KeyRecord(
        text=text,
        tags=tuple(pairs),
        key_type=key_type,
        bits=bits,
        hash_algorithms=hashes,
        service_types=services,
        flags=flags,
        findings=tuple(sorted(findings, key=lambda f: f.severity.rank)),
    )


def readable_target(pattern: str) -> str:
    """A catalogue CNAME pattern as a person reads it, its variable parts named in words:
    "s1.domainkey.u<number>.wl<number>.sendgrid.net", "selector1-<name>._domainkey.<name>.
    onmicrosoft.com". Shown in a sentence ("of the form ..."), never as a value to copy."""
    text = re.sub(r"\\d\+|\[0-9\]\+", "<number>", pattern)
    text = text.replace("\\d", "<digit>")
    text = re.sub(r"\[[^\]]*\][+*]", "<name>", text)
    return text.replace("\\", "").replace("^", "").replace("$", "")


def _cname_matches(target: str, expected: str) -> bool:
    """`expected` is a host name or a regular expression (catalogue targets are)."""
    try:
        return re.fullmatch(expected.rstrip("."), target, re.IGNORECASE) is not None
    except re.error:
        return target.lower() == expected.lower().rstrip(".")


def _check(
    domain: str,
    selector: str,
    name: str,
    cname: Answer,
    txt: Answer,
    expected_cname: str | None,
) -> SelectorCheck:
    findings: list[Finding] = []
    target = cname.records[0] if cname.status is Status.OK and cname.records else None
    if expected_cname is not None:
        if target is None:
            findings.append(
                Finding(
                    "cname_missing",
                    Severity.ERROR,
                    f"{name} should be a CNAME to your provider's key (a name of the form "
                    f"{readable_target(expected_cname)}), but "
                    f"it is not a CNAME ({cname.describe()}). Publish the CNAME exactly as the "
                    "provider shows it, and remove any TXT record at that name.",
                    name,
                )
            )
        elif not _cname_matches(target, expected_cname):
            findings.append(
                Finding(
                    "cname_wrong",
                    Severity.ERROR,
                    f"{name} is a CNAME to {target}, not to the provider's key (a name of the "
                    f"form {readable_target(expected_cname)}). Correct the CNAME target to the value the provider "
                    "shows (a common slip is pasting your own domain at the end).",
                    name,
                )
            )
    records = txt.records if txt.status is Status.OK else ()
    keys = tuple(r for r in records if _KEY_RECORD.search(r))
    key: KeyRecord | None = None
    if txt.status.is_temporary:
        findings.append(
            Finding(
                "dns_error",
                Severity.ERROR,
                f"DNS did not answer for {name} ({txt.describe()}); try again, and check the "
                "domain's nameservers if it persists.",
                name,
            )
        )
    elif not keys and any(f.code.startswith("cname_") for f in findings):
        pass  # the CNAME finding already says what to publish; "no key" would repeat it
    elif not keys:
        where = f" (the CNAME points to {target}, which has no key)" if target else ""
        findings.append(
            Finding(
                "no_key",
                Severity.ERROR,
                f"No DKIM key is published at {name}{where}: receivers cannot verify mail "
                f"signed with selector {selector!r}. Publish the record your provider shows "
                "for this selector.",
                name,
            )
        )
    elif len(keys) > 1:
        findings.append(
            Finding(
                "multiple_keys",
                Severity.ERROR,
                f"{name} has {len(keys)} key records; receivers may pick either and fail. "
                "Keep one.",
                name,
            )
        )
    else:
        key = parse_key_record(keys[0])
        findings.extend(key.findings)
    findings.sort(key=lambda f: f.severity.rank)
    return SelectorCheck(
        domain=domain,
        selector=selector,
        name=name,
        status=verdict_of(findings),
        cname=target,
        key=key,
        records=records,
        findings=tuple(findings),
    )


def _name(domain: str, selector: str) -> tuple[str, str]:
    clean = normalize_name(domain)
    if not selector or not re.fullmatch(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*", selector):
        raise InvalidInput(f"{selector!r} is not a DKIM selector (letters, digits, - and _).")
    return clean, f"{selector.lower()}._domainkey.{clean}"


def selector_flow(
    domain: str, selector: str, *, expected_cname: str | None = None
) -> Generator[list[Question], list[Answer], SelectorCheck]:
    """The check of one selector as a DNS flow (diagnostics/_flow.py), the one body behind
    `check_selector`, `check_selector_async` and the health check.

    Raises InvalidInput at once (before any question) for a domain or selector that cannot be a
    DNS name."""
    clean, name = _name(domain, selector)
    return _selector_flow(clean, selector, name, expected_cname)


def _selector_flow(
    domain: str, selector: str, name: str, expected_cname: str | None
) -> Generator[list[Question], list[Answer], SelectorCheck]:
    # The CNAME and the key do not depend on each other: one batch, asked at once when async.
    cname, txt = yield [(name, "CNAME"), (name, "TXT")]
    return _check(domain, selector, name, cname, txt, expected_cname)


def check_selector(
    domain: str,
    selector: str,
    *,
    expected_cname: str | None = None,
    resolver: Resolver | None = None,
) -> SelectorCheck:
    """Check the key of `selector` for `domain`. `expected_cname` (a host name or a regular
    expression) is where the name must point when the provider hosts the key.

    Raises InvalidInput only for a domain or selector that cannot be a DNS name."""
    flow = selector_flow(domain, selector, expected_cname=expected_cname)
    return run_flow(flow, get_resolver(resolver))


async def check_selector_async(
    domain: str,
    selector: str,
    *,
    expected_cname: str | None = None,
    resolver: Resolver | None = None,
) -> SelectorCheck:
    """`check_selector` for asyncio (the CNAME and the key are asked at once)."""
    flow = selector_flow(domain, selector, expected_cname=expected_cname)
    return await run_flow_async(flow, get_resolver(resolver))
