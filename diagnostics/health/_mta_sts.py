"""MTA-STS (RFC 8461): the `_mta-sts` TXT record, the policy file served over HTTPS, whether every MX
is covered by an `mx:` pattern, and the cross-check no other tool makes: a policy in `testing` that
the domain's TLS reports show would pass in `enforce`.

The policy is fetched by `diagnostics.health._https.fetch` (redirects refused, 64 KiB, one
deadline); here it is only read. Every finding that asks for a change gives the exact TXT record
and policy file, built from the domain's own MX hosts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from diagnostics.dns import Answer
from diagnostics.findings import Finding, Severity
from diagnostics.health._https import Fetched, FetchProblem
from diagnostics.health._result import Part, make_part
from diagnostics.health._tags import find_record
from diagnostics.health._tls_rpt import TlsReportSummary
from diagnostics.wording import plural

__all__ = [
    "MAX_POLICY_BYTES",
    "StsPolicy",
    "assess_mta_sts",
    "mx_matches",
    "policy_url",
    "sts_record_name",
]

MAX_POLICY_BYTES = 64 * 1024  # RFC 8461 3.3: senders may cap the policy at 64 KiB
_MAX_AGE_LIMIT = 31_557_600  # RFC 8461 3.2: at most about a year
_SHORT_MAX_AGE = 86_400  # under a day, a policy protects little between fetches
_SUGGESTED_MAX_AGE = 604_800  # a week, while in testing
_ENFORCE_MAX_AGE = 1_209_600  # two weeks once enforced
_ID = re.compile(r"[A-Za-z0-9]{1,32}")
_MODES = ("enforce", "testing", "none")


def sts_record_name(domain: str) -> str:
    return f"_mta-sts.{domain}"


def policy_url(domain: str) -> str:
    return f"https://mta-sts.{domain}/.well-known/mta-sts.txt"


@dataclass(frozen=True, slots=True)
class StsPolicy:
    """A policy file as read: `mode`, `max_age`, the `mx` patterns, and what is wrong with it
    (`problems`, plain sentences; a policy with problems is one senders ignore)."""

    mode: str | None
    max_age: int | None
    mx: tuple[str, ...]
    problems: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.problems


def parse_policy(text: str) -> StsPolicy:
    """RFC 8461 3.2: `key: value` lines; version, mode, max_age and (unless mode is none) mx."""
    values: dict[str, list[str]] = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        key, colon, value = line.partition(":")
        if colon and key.strip():
            values.setdefault(key.strip().lower(), []).append(value.strip())
    problems: list[str] = []
    if values.get("version", [""])[0] != "STSv1":
        problems.append('the first line must be "version: STSv1"')
    mode = values.get("mode", [None])[0]
    if mode not in _MODES:
        problems.append("mode must be enforce, testing or none")
        mode = None
    max_age: int | None = None
    age_text = values.get("max_age", [""])[0]
    if age_text.isdigit() and int(age_text) <= _MAX_AGE_LIMIT:
        max_age = int(age_text)
    else:
        problems.append(f"max_age must be a number of seconds from 0 to {_MAX_AGE_LIMIT}")
    patterns = tuple(p.lower().rstrip(".") for p in values.get("mx", []) if p)
    if not patterns and mode != "none":
        problems.append("it lists no mx: line")
    return StsPolicy(mode, max_age, patterns, tuple(problems))


def mx_matches(pattern: str, host: str) -> bool:
    """RFC 8461 4.1: an exact name, or `*.` standing for exactly one left-most label."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        label, dot, rest = host.partition(".")
        return bool(label) and bool(dot) and rest == pattern[2:]
    return pattern == host


def policy_file(mode: str, mx_hosts: Sequence[str], max_age: int) -> str:
    lines = ["version: STSv1", f"mode: {mode}", *(f"mx: {h}" for h in mx_hosts)]
    return "\n".join([*lines, f"max_age: {max_age}"])


def new_id(today: dt.date) -> str:
    return today.strftime("%Y%m%d") + "T000000"


def _publish(
    domain: str,
    mode: str,
    mx_hosts: Sequence[str],
    max_age: int,
    today: dt.date,
) -> str:
    """The record and the policy file to publish; the file last, on the lines after the first
    (a page shows it as a block to copy). With no MX host known, the file is a template, and
    the message says so before it."""
    template = "" if mx_hosts else " (a template: put your real MX hosts in its mx: lines)"
    hosts = list(mx_hosts) or [f"mx.{domain}"]
    return (
        f'Publish this TXT record at {sts_record_name(domain)}: "v=STSv1; id={new_id(today)}" '
        f"and serve this file as text/plain at {policy_url(domain)}, over HTTPS with a valid "
        f"certificate for mta-sts.{domain}{template}:\n{policy_file(mode, hosts, max_age)}"
    )


def assess_mta_sts(
    domain: str,
    answer: Answer,
    mx_hosts: Sequence[str],
    fetched: Fetched | None,
    summary: TlsReportSummary | None,
    today: dt.date,
) -> tuple[Part, StsPolicy | None]:
    """The MTA-STS part, and the policy as read (None when not fetched or not readable).
    `fetched` None: the network checks were off, so the policy was not read."""
    record, problem = find_record(answer, "STSv1", "MTA-STS")
    findings: list[Finding] = [problem] if problem else []
    if record is not None:
        ident = record.tags.get("id", "")
        if not _ID.fullmatch(ident):
            findings.append(
                Finding(
                    "mta_sts_record_invalid",
                    Severity.ERROR,
                    f"The MTA-STS record at {record.name} has no valid id= (1 to 32 letters and "
                    "digits), so senders ignore it. Publish instead: "
                    f'"v=STSv1; id={new_id(today)}".',
                    record.text,
                )
            )
    policy: StsPolicy | None = None
    if fetched is None:
        if record is not None:
            findings.append(
                Finding(
                    "policy_not_fetched",
                    Severity.INFO,
                    f"The policy at {policy_url(domain)} was not read: the network checks are "
                    "off. Run them to check its mode, max_age and mx: lines.",
                    policy_url(domain),
                )
            )
    elif fetched.ok:
        policy = parse_policy((fetched.body or b"").decode("utf-8", errors="replace"))
        findings.extend(
            _policy_findings(domain, record is not None, fetched, policy, mx_hosts, today)
        )
        if policy.valid and record is not None:
            findings.extend(_enforce_check(domain, policy, mx_hosts, summary, today))
    elif record is not None:
        findings.append(_fetch_finding(domain, fetched, mx_hosts, today))
    if record is None and problem is None and (policy is None or not policy.valid):
        if mx_hosts:
            said = (
                f"{domain} has no MTA-STS policy, so mail sent to it can be downgraded to "
                "plain text or sent to an impostor server by anyone on the path. "
                + _publish(domain, "testing", mx_hosts, _SUGGESTED_MAX_AGE, today)
            )
        else:
            # MTA-STS names the hosts that receive the domain's mail: with none, there is no
            # policy to write (a made-up host in a file to copy would look real).
            said = (
                f"{domain} has no MTA-STS policy, and no MX hosts: it receives no mail, so there "
                "is nothing for a policy to protect yet. Publish one once mail is delivered to "
                "it; the check then gives the exact record and file, with its MX hosts."
            )
        findings.append(Finding("mta_sts_absent", Severity.INFO, said, sts_record_name(domain)))
    if problem is not None:
        summary_text = "MTA-STS record could not be used"
    elif record is None:
        summary_text = "no MTA-STS record"
    elif policy is not None and policy.valid:
        summary_text = f"mode {policy.mode}, max_age {policy.max_age}"
    else:
        summary_text = record.text
    return make_part("mta_sts", findings, summary_text, summary_text), policy


def _fetch_finding(
    domain: str, fetched: Fetched, mx_hosts: Sequence[str], today: dt.date
) -> Finding:
    url = policy_url(domain)
    fix = _publish(domain, "testing", mx_hosts, _SUGGESTED_MAX_AGE, today)
    reasons = {
        FetchProblem.CERTIFICATE: (
            "policy_certificate_invalid",
            f"the certificate of mta-sts.{domain} is not valid ({fetched.detail}), and senders "
            "only accept a policy served with a valid one. Install a certificate for "
            f"mta-sts.{domain} from a public CA (Let's Encrypt will do).",
        ),
        FetchProblem.REDIRECT: (
            "policy_redirect",
            f"the server answered with a redirect ({fetched.detail}"
            + (f" to {fetched.location[:200]}" if fetched.location else "")
            + "), and RFC 8461 forbids following one: senders treat the policy as missing. "
            "Serve the file itself at that address.",
        ),
        FetchProblem.TOO_LARGE: (
            "policy_too_large",
            f"the file is too large ({fetched.detail}); senders stop reading at 64 KiB. "
            "A policy is a few lines: " + fix,
        ),
        FetchProblem.TIMEOUT: (
            "policy_unreachable",
            f"the server did not answer in time ({fetched.detail}).",
        ),
        FetchProblem.HTTP_STATUS: (
            "policy_unreachable",
            f"the server answered {fetched.detail} instead of the file. " + fix,
        ),
    }
    code, why = reasons.get(
        fetched.problem or FetchProblem.CONNECT,
        ("policy_unreachable", f"it could not be fetched ({fetched.detail}). " + fix),
    )
    # `why` ends with the file to publish, when it gives one: nothing may follow it.
    return Finding(
        code,
        Severity.ERROR,
        f"The MTA-STS record is published but the policy at {url} cannot be used, so senders "
        f"apply no MTA-STS policy: {why}",
        url,
    )


def _policy_findings(
    domain: str,
    has_record: bool,
    fetched: Fetched,
    policy: StsPolicy,
    mx_hosts: Sequence[str],
    today: dt.date,
) -> list[Finding]:
    url = policy_url(domain)
    found: list[Finding] = []
    if not has_record:
        found.append(
            Finding(
                "policy_without_record",
                Severity.WARNING,
                f"A policy is served at {url}, but no MTA-STS TXT record is published at "
                f"{sts_record_name(domain)}, so senders never look for it. Publish the record "
                f'as TXT: "v=STSv1; id={new_id(today)}".',
                sts_record_name(domain),
            )
        )
    if not policy.valid:
        hosts = list(mx_hosts) or [f"mx.{domain}"]
        template = "" if mx_hosts else " (a template: put your real MX hosts in its mx: lines)"
        found.append(
            Finding(
                "policy_invalid",
                Severity.ERROR,
                f"The policy at {url} cannot be used: {'; '.join(policy.problems)}. Senders "
                f"ignore it. Serve this file instead{template}:\n"
                + policy_file(
                    policy.mode or "testing", hosts, policy.max_age or _SUGGESTED_MAX_AGE
                ),
                url,
            )
        )
        return found
    kind = (fetched.content_type or "").split(";")[0].strip().lower()
    if kind != "text/plain":
        found.append(
            Finding(
                "policy_content_type",
                Severity.WARNING,
                f"The policy at {url} is served as {kind or 'no content type'}; RFC 8461 asks "
                "for text/plain, and some senders refuse anything else. Set the web server's "
                "Content-Type for this file to text/plain.",
                url,
            )
        )
    if policy.mode == "testing":
        found.append(
            Finding(
                "policy_testing",
                Severity.INFO,
                "The policy is in testing mode: senders report failures (to TLS reporting) but "
                "still deliver over an unverified connection. Move to enforce once the "
                "reports are clean.",
                "mode: testing",
            )
        )
    elif policy.mode == "none":
        found.append(
            Finding(
                "policy_mode_none",
                Severity.WARNING,
                "The policy's mode is none: it withdraws MTA-STS protection. Publish mode "
                "testing or enforce unless you are retiring MTA-STS on purpose.",
                "mode: none",
            )
        )
    if policy.max_age is not None and policy.max_age < _SHORT_MAX_AGE and policy.mode != "none":
        found.append(
            Finding(
                "max_age_short",
                Severity.WARNING,
                f"max_age is {policy.max_age} seconds: senders forget the policy within a day, "
                "which leaves the first connection after that unprotected. Use at least "
                f"{_SUGGESTED_MAX_AGE} (a week).",
                f"max_age: {policy.max_age}",
            )
        )
    for host in mx_hosts:
        if policy.mode != "none" and not any(mx_matches(p, host) for p in policy.mx):
            enforced = policy.mode == "enforce"
            found.append(
                Finding(
                    "mx_not_in_policy",
                    Severity.ERROR if enforced else Severity.WARNING,
                    f"The MX host {host} matches no mx: line of the policy "
                    f"({_listed(policy.mx)}), so "
                    + (
                        "senders that honour MTA-STS refuse to deliver to it. "
                        if enforced
                        else "enforcing the policy would stop delivery to it. "
                    )
                    + f"Add the line: mx: {host}",
                    host,
                )
            )
    return found


def _listed(patterns: Sequence[str], most: int = 10) -> str:
    """The policy's mx: patterns for a message: a policy may hold thousands (64 KiB of them)."""
    shown = ", ".join(p[:100] for p in patterns[:most])
    return shown + (f" and {len(patterns) - most:,} more" if len(patterns) > most else "")


def _enforce_check(
    domain: str,
    policy: StsPolicy,
    mx_hosts: Sequence[str],
    summary: TlsReportSummary | None,
    today: dt.date,
) -> list[Finding]:
    """A testing policy against the TLS reports: would enforce have delivered everything?"""
    if policy.mode != "testing" or summary is None:
        return []
    period = f"the last {plural(summary.days, 'day')}"
    if summary.sts_successful_sessions + summary.sts_failed_sessions == 0:
        return [
            Finding(
                "enforce_unknown",
                Severity.INFO,
                f"No TLS report of {period} covers this MTA-STS policy, so the reports cannot "
                "say yet whether enforce would deliver everything. Publish TLS reporting and "
                "wait for a week of reports.",
                domain,
            )
        ]
    if summary.sts_failed_sessions:
        kinds = ", ".join(summary.failure_types) or "not said"
        return [
            Finding(
                "enforce_not_ready",
                Severity.WARNING,
                f"In {period}, {summary.sts_failed_sessions:,} of "
                f"{summary.sts_successful_sessions + summary.sts_failed_sessions:,} sessions "
                f"under this policy failed (failure types: {kinds}); in enforce those messages "
                "would not be delivered. Fix the MX hosts' TLS first, then enforce.",
                domain,
            )
        ]
    hosts = [p for p in policy.mx] or list(mx_hosts)
    return [
        Finding(
            "enforce_ready",
            Severity.INFO,
            f"The TLS reports of {period} show all "
            f"{summary.sts_successful_sessions:,} sessions under this testing policy passed, "
            "so enforce would have delivered every message. To enforce: "
            + _publish(domain, "enforce", hosts, _ENFORCE_MAX_AGE, today),
            domain,
        )
    ]
