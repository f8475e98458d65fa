"""The MX hosts' TLS: each MX is connected to on port 25 with the desk's own SMTP probe
(diagnostics.smtp, aiosmtplib): EHLO, STARTTLS, the certificate verified against the MX host name.
Reported per host: the certificate (trusted chain, the name, the expiry), the TLS version, and
whether a sender applying the domain's MTA-STS policy would deliver to it.

The connections run concurrently, each under its own time limit. A certificate that fails
verification is looked at once more without verifying, only to say what it is (its names, its
expiry): the verdict stays the verified one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from diagnostics.dns import Resolver
from diagnostics.findings import Finding, Severity
from diagnostics.health._mta_sts import StsPolicy, mx_matches
from diagnostics.health._result import Part, make_part
from diagnostics.smtp.codes import Symptom
from diagnostics.smtp.probe import probe_async
from diagnostics.smtp.result import TlsInfo
from diagnostics.smtp.settings import Security, SmtpSettings

__all__ = ["MxTls", "assess_mx_tls", "probe_mx_hosts"]

_EXPIRING = dt.timedelta(days=14)
_OLD_VERSIONS = ("SSLv3", "TLSv1", "TLSv1.1")


@dataclass(frozen=True, slots=True)
class MxTls:
    """One MX host's STARTTLS as seen: `problem` None when it offered STARTTLS with a certificate
    that verified; else no_starttls, certificate_untrusted, certificate_name_mismatch,
    certificate_expired or not_reached, with `detail`. `tls`: the session and certificate."""

    host: str
    problem: str | None = None
    detail: str = ""
    tls: TlsInfo | None = None


async def _probe(
    host: str, port: int, timeout: float, cafile: str | None, resolver: Resolver
) -> MxTls:
    settings = SmtpSettings(host, port, Security.STARTTLS)
    result = await probe_async(settings, timeout=timeout, cafile=cafile, resolver=resolver)
    if result.ok:
        return MxTls(host, tls=result.tls)
    detail = result.explanation or (result.symptom.label if result.symptom else "failed")
    if result.symptom is Symptom.STARTTLS_UNAVAILABLE:
        return MxTls(host, "no_starttls", detail)
    if result.symptom not in (Symptom.TLS_CERTIFICATE_UNTRUSTED, Symptom.TLS_HOSTNAME_MISMATCH):
        return MxTls(host, "not_reached", detail)
    # What the certificate is, for the message: looked at without verifying it.
    seen = await probe_async(
        settings, timeout=timeout, tls_verify=False, cafile=cafile, resolver=resolver
    )
    tls = seen.tls
    expired = (
        tls is not None and tls.not_after is not None and tls.not_after < dt.datetime.now(dt.UTC)
    )
    if expired:
        problem = "certificate_expired"
    elif result.symptom is Symptom.TLS_HOSTNAME_MISMATCH:
        problem = "certificate_name_mismatch"
    else:
        problem = "certificate_untrusted"
    return MxTls(host, problem, detail, tls)


async def probe_mx_hosts(
    hosts: Sequence[str],
    *,
    port: int,
    timeout: float,
    cafile: str | None,
    resolver: Resolver,
) -> tuple[MxTls, ...]:
    """STARTTLS of every host at once, each within `timeout` seconds."""
    found = await asyncio.gather(*(_probe(h, port, timeout, cafile, resolver) for h in hosts))
    return tuple(found)


def _sts_words(host: str, policy: StsPolicy | None, passes: bool) -> tuple[str, bool]:
    """(a sentence on what MTA-STS makes of this host, whether a sender would refuse it)."""
    if policy is None or not policy.valid or policy.mode == "none":
        return "", False
    covered = any(mx_matches(p, host) for p in policy.mx)
    if passes and covered:
        return " A sender applying your MTA-STS policy accepts it.", False
    enforced = policy.mode == "enforce"
    if enforced:
        return " Your MTA-STS policy is in enforce, so senders that honour it refuse it.", True
    return " Your MTA-STS policy is in testing: in enforce, senders would refuse it.", False


def assess_mx_tls(results: Sequence[MxTls], policy: StsPolicy | None, now: dt.datetime) -> Part:
    """The MX TLS part from the probes' outcomes and the MTA-STS policy (None: none read)."""
    findings: list[Finding] = []
    good = 0
    for item in results:
        host = item.host
        words, refused = _sts_words(host, policy, item.problem is None)
        tls = item.tls
        if item.problem is None:
            good += 1
            findings.extend(_good_host(host, tls, now, words))
            continue
        if item.problem == "not_reached":
            findings.append(
                Finding(
                    "mx_not_reached",
                    Severity.INFO,
                    f"{host} could not be tested: {item.detail} Port 25 is often blocked where "
                    "this check runs, so this alone does not mean the server is down.",
                    host,
                )
            )
            continue
        severity = Severity.ERROR if refused else Severity.WARNING
        names = ", ".join(tls.names) if tls and tls.names else "no name"
        until = f"{tls.not_after:%Y-%m-%d}" if tls and tls.not_after else "an unknown date"
        message = {
            "no_starttls": f"{host} does not offer STARTTLS, so mail to it travels unencrypted. "
            "Turn on STARTTLS with a certificate for this host name.",
            "certificate_expired": f"{host}'s certificate expired on {until}. Renew it.",
            "certificate_name_mismatch": f"{host}'s certificate is for {names}, not {host}, so "
            f"it does not verify. Install a certificate that names {host}.",
            "certificate_untrusted": f"{host}'s certificate is not from a trusted CA "
            f"({item.detail}). Install one from a public CA (Let's Encrypt will do).",
        }[item.problem]
        findings.append(Finding(item.problem, severity, message + words, host))
    reached = [r for r in results if r.problem != "not_reached"]
    if not results:
        summary = "no MX host to test"
    elif not reached:
        summary = "no MX host could be reached on port 25"
    else:
        summary = f"{good} of {len(results)} MX hosts: STARTTLS with a valid certificate"
    return make_part("mx_tls", findings, summary, summary)


def _good_host(host: str, tls: TlsInfo | None, now: dt.datetime, words: str) -> list[Finding]:
    version = tls.version if tls and tls.version else "an unknown TLS version"
    until = tls.not_after if tls else None
    found = [
        Finding(
            "mx_tls_ok",
            Severity.INFO,
            f"{host}: STARTTLS with {version}, a trusted certificate for this name"
            + (f", valid until {until:%Y-%m-%d}" if until else "")
            + "."
            + words,
            host,
        )
    ]
    if until is not None and until - now < _EXPIRING:
        found.append(
            Finding(
                "certificate_expiring",
                Severity.WARNING,
                f"{host}'s certificate expires on {until:%Y-%m-%d}, in less than two weeks. "
                "Renew it (check that automatic renewal runs).",
                host,
            )
        )
    if tls is not None and tls.version in _OLD_VERSIONS:
        found.append(
            Finding(
                "tls_version_old",
                Severity.WARNING,
                f"{host} negotiated {tls.version}, which RFC 8996 retired; many senders refuse "
                "it. Enable TLS 1.2 and 1.3 on the server.",
                host,
            )
        )
    return found
