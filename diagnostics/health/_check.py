"""The whole health check: one DNS flow for every record (`_health`), then, when asked, the network
checks (the MTA-STS policy and the BIMI logo over HTTPS, each MX's STARTTLS on port 25), all at
once, then the parts assembled from what was seen (pure functions of each part's module)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from diagnostics import providers as catalogue
from diagnostics._flow import Flow, run_flow_async, together
from diagnostics._sync import run_sync
from diagnostics.dkim import SelectorCheck
from diagnostics.dmarc.record import DmarcCheck
from diagnostics.dmarc.record import record_flow as dmarc_flow
from diagnostics.dns import Answer, Resolver, get_resolver, normalize_name
from diagnostics.errors import InvalidInput
from diagnostics.health._bimi import MAX_LOGO_BYTES, assess_bimi, bimi_name, bimi_record
from diagnostics.health._dnssec import assess_dnssec, tlsa_name
from diagnostics.health._https import Fetched, fetch
from diagnostics.health._mta_sts import (
    MAX_POLICY_BYTES,
    assess_mta_sts,
    policy_url,
    sts_record_name,
)
from diagnostics.health._mx_tls import MxTls, assess_mx_tls, probe_mx_hosts
from diagnostics.health._records import dkim_flow, dmarc_part, mx_flow, spf_flow
from diagnostics.health._result import DomainHealth, Part, not_checked
from diagnostics.health._tls_rpt import TlsReportSummary, assess_tls_rpt, tls_rpt_name
from diagnostics.providers import PLATFORM
from diagnostics.spf import SpfAnalysis, SpfRecommendation

__all__ = ["NetworkChecks", "check_domain", "check_domain_async"]


@dataclass(frozen=True, slots=True)
class NetworkChecks:
    """The checks that leave DNS, opt-in: the MTA-STS policy and the BIMI logo over HTTPS, and
    STARTTLS on port 25 of each MX. `timeout`: seconds each fetch or connection may take (they
    run at once, so the whole takes about that long); `cafile`: one more CA to trust (a private
    one, or the tests'); `https_port` and `smtp_port`: other ports than 443 and 25 (tests)."""

    timeout: float = 10.0
    cafile: str | None = None
    https_port: int | None = None
    smtp_port: int = 25

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise InvalidInput("The network checks' time limit must be a positive number.")


@dataclass(frozen=True, slots=True)
class _Seen:
    """Everything the DNS flow found, for the network checks and the assembly."""

    name: str
    keys: tuple[str, ...]
    spf: tuple[Part, SpfAnalysis, SpfRecommendation | None]
    dkim: tuple[Part, tuple[SelectorCheck, ...]]
    dmarc: DmarcCheck
    mx: tuple[Part, tuple[tuple[int, str], ...]]
    sts: Answer
    tls_rpt: Answer
    bimi: Answer
    dnskey: Answer
    ds: Answer
    tlsa: tuple[Answer, ...]

    @property
    def mx_hosts(self) -> list[str]:
        return _exchanges(self.mx[1])


def _exchanges(pairs: Sequence[tuple[int, str]]) -> list[str]:
    """The MX hosts to connect to (a null MX names none)."""
    return [h for _, h in pairs if h not in ("", ".")]


@dataclass(frozen=True, slots=True)
class _Network:
    policy: Fetched
    logo: Fetched | None
    mx: tuple[MxTls, ...]


def _records(
    name: str,
    keys: list[str],
    selectors: Mapping[str, Sequence[str]],
    platform: str | None,
    regions: Mapping[str, str],
) -> Flow[_Seen]:
    """Every DNS question of the check, as one flow: the parts side by side."""
    (spf, dkim, dmarc, (mx, tlsa)), records = yield from together(
        together(
            spf_flow(name, keys, regions),
            dkim_flow(name, keys, selectors, platform),
            dmarc_flow(name),
            _mx_and_tlsa(name),
        ),
        _ask(
            (sts_record_name(name), "TXT"),
            (tls_rpt_name(name), "TXT"),
            (bimi_name(name), "TXT"),
            (name, "DNSKEY"),
            (name, "DS"),
        ),
    )
    sts, tls_rpt, bimi, dnskey, ds = records
    return _Seen(name, tuple(keys), spf, dkim, dmarc, mx, sts, tls_rpt, bimi, dnskey, ds, tlsa)


def _ask(*questions: tuple[str, str]) -> Flow[list[Answer]]:
    answers: list[Answer] = yield list(questions)
    return answers


def _mx_and_tlsa(
    name: str,
) -> Flow[tuple[tuple[Part, tuple[tuple[int, str], ...]], tuple[Answer, ...]]]:
    """The MX part, then the MX hosts' TLSA records (DANE) as soon as the hosts are known."""
    mx = yield from mx_flow(name)
    hosts = _exchanges(mx[1])
    tlsa: list[Answer] = (yield [(tlsa_name(h), "TLSA") for h in hosts]) if hosts else []
    return mx, tuple(tlsa)


def _assemble(
    seen: _Seen, tls_reports: TlsReportSummary | None, network: _Network | None
) -> DomainHealth:
    now = dt.datetime.now(dt.UTC)
    name = seen.name
    mta_sts, policy = assess_mta_sts(
        name,
        seen.sts,
        seen.mx_hosts,
        network.policy if network else None,
        tls_reports,
        now.date(),
    )
    if network is None:
        mx_tls = not_checked("mx_tls", "not tested: the network checks are off")
    else:
        mx_tls = assess_mx_tls(network.mx, policy, now)
    (spf, analysis, rec), (dkim, checks), (mx, pairs) = seen.spf, seen.dkim, seen.mx
    return DomainHealth(
        domain=name,
        providers=seen.keys,
        spf=spf,
        dkim=dkim,
        dmarc=dmarc_part(seen.dmarc, list(seen.keys)),
        mx=mx,
        mta_sts=mta_sts,
        tls_rpt=assess_tls_rpt(name, seen.tls_rpt, seen.dmarc, tls_reports),
        bimi=assess_bimi(name, seen.bimi, seen.dmarc, network.logo if network else None),
        mx_tls=mx_tls,
        dnssec=assess_dnssec(name, seen.dnskey, seen.ds, seen.tlsa),
        spf_analysis=analysis,
        spf_recommendation=rec,
        dkim_selectors=checks,
        dmarc_check=seen.dmarc,
        mx_records=pairs,
    )


def _health(
    name: str,
    keys: list[str],
    selectors: Mapping[str, Sequence[str]],
    platform: str | None,
    regions: Mapping[str, str],
    tls_reports: TlsReportSummary | None = None,
) -> Flow[DomainHealth]:
    """The DNS-only check of the normalized `name` as one flow (no network checks)."""
    seen = yield from _records(name, keys, selectors, platform, regions)
    return _assemble(seen, tls_reports, None)


async def _network(seen: _Seen, checks: NetworkChecks, resolver: Resolver) -> _Network:
    """The policy, the logo and every MX's STARTTLS, all at once."""
    record, _ = bimi_record(seen.bimi)
    logo_url = record.logo if record and record.logo.lower().startswith("https://") else None

    async def no_logo() -> Fetched | None:
        return None

    policy, logo, mx = await asyncio.gather(
        fetch(
            policy_url(seen.name),
            resolver=resolver,
            timeout=checks.timeout,
            max_bytes=MAX_POLICY_BYTES,
            cafile=checks.cafile,
            port=checks.https_port,
        ),
        fetch(
            logo_url,
            resolver=resolver,
            timeout=checks.timeout,
            max_bytes=MAX_LOGO_BYTES,
            cafile=checks.cafile,
            port=checks.https_port,
        )
        if logo_url
        else no_logo(),
        probe_mx_hosts(
            seen.mx_hosts,
            port=checks.smtp_port,
            timeout=checks.timeout,
            cafile=checks.cafile,
            resolver=resolver,
        ),
    )
    return _Network(policy, logo, mx)


def _keys(
    providers: Sequence[str] | None,
    platform: str | None,
    hosts: Sequence[str] = (),
    selectors: Mapping[str, Sequence[str]] | None = None,
) -> list[str]:
    keys = [catalogue.get(k).key for k in (providers or ())]  # KeyError names the known keys
    keys += [p.key for p in map(catalogue.match_host, hosts) if p is not None]
    for key in selectors or {}:
        if key:
            catalogue.get(key)
    if platform:
        catalogue.get(platform)
        keys = [platform, *[k for k in keys if k != platform]]
    return list(dict.fromkeys(keys))


def _regions(hosts: Sequence[str]) -> dict[str, str]:
    """Provider key -> the region its SMTP host names, for the hosts that name one."""
    found: dict[str, str] = {}
    for host in hosts:
        provider = catalogue.match_host(host)
        region = provider.region_of(host) if provider is not None else None
        if provider is not None and region is not None:
            found.setdefault(provider.key, region)
    return found


async def check_domain_async(
    domain: str,
    *,
    providers: Sequence[str] | None = None,
    selectors: Mapping[str, Sequence[str]] | None = None,
    platform: str | None = PLATFORM,
    resolver: Resolver | None = None,
    hosts: Sequence[str] = (),
    tls_reports: TlsReportSummary | None = None,
    network: NetworkChecks | None = None,
) -> DomainHealth:
    """`check_domain` for asyncio."""
    try:
        name = normalize_name(domain)
        keys = _keys(providers, platform, hosts, selectors)
    except KeyError as exc:
        raise InvalidInput(str(exc.args[0])) from None
    resolver = get_resolver(resolver)
    seen = await run_flow_async(
        _records(name, keys, selectors or {}, platform, _regions(hosts)), resolver
    )
    found = await _network(seen, network, resolver) if network is not None else None
    return _assemble(seen, tls_reports, found)


def check_domain(
    domain: str,
    *,
    providers: Sequence[str] | None = None,
    selectors: Mapping[str, Sequence[str]] | None = None,
    platform: str | None = PLATFORM,
    resolver: Resolver | None = None,
    hosts: Sequence[str] = (),
    tls_reports: TlsReportSummary | None = None,
    network: NetworkChecks | None = None,
) -> DomainHealth:
    """SPF, DKIM, DMARC, MX, MTA-STS, TLS reporting, BIMI, the MX hosts' TLS and DNSSEC of
    `domain`, for the `providers` it sends through (catalogue keys; the `platform` is always
    added). `selectors` maps a provider key to DKIM selectors to check besides the catalogue's
    (e.g. {"ses": [token1, token2, token3]}, or what `diagnostics.dmarc.selectors_seen` found in
    the domain's reports; key "" for a sender no provider names). `hosts`: the account's SMTP
    hosts; each the catalogue knows adds its provider and its region (SES's, for the exact
    custom MAIL FROM records). `tls_reports`: what the stored SMTP TLS reports of the domain say
    (`TlsReportSummary.from_rows`), for whether reports arrive and whether a testing MTA-STS
    policy could be enforced. `network`: run the checks that leave DNS (`NetworkChecks`);
    without it the MTA-STS policy and the BIMI logo are not fetched and MX TLS is not checked.

    Raises InvalidInput for a name that cannot be a domain or an unknown provider key; every DNS
    and network outcome is reported in the result."""
    # The async driver, not the sync one: the parts' look-ups overlap instead of adding up.
    return run_sync(
        lambda: check_domain_async(
            domain,
            providers=providers,
            selectors=selectors,
            platform=platform,
            resolver=resolver,
            hosts=hosts,
            tls_reports=tls_reports,
            network=network,
        )
    )
