"""Read-only data that names a sending IP without asking the network.

Three sources, each loaded on first use and kept for the life of the process (they are data files
that ship with installed packages, not a DNS cache, so sharing them between callers is harmless):

- parsedmarc's reverse-DNS service map (`resources/maps/base_reverse_dns_map.csv`: base domain ->
  service name and type) and its PSL overrides (`psl_overrides.txt`: suffixes that parsedmarc folds
  into one base domain, which the map's keys assume);
- parsedmarc's IPinfo Lite database (`resources/ipinfo/ipinfo_lite.mmdb`: IP -> ASN, AS name, AS
  domain, country), read with maxminddb;
- the public suffix list, through diagnostics/domains.py (the library's one copy).

parsedmarc's files are found through the package's location on disk, not by importing it: importing
parsedmarc pulls in its whole 3,000-line module and its clients for Elasticsearch, Kafka and the rest.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import maxminddb

from diagnostics import providers
from diagnostics.domains import registered_domain

__all__ = [
    "PROVIDER_SERVICE_TYPE",
    "IpRecord",
    "NetworkOwner",
    "Service",
    "base_domain",
    "ip_record",
    "network_owner",
    "service_for",
]

# Service type for names from our own provider catalogue: what support staff look for in a report
# (the relay a customer configured), whatever the service map calls the same company.
PROVIDER_SERVICE_TYPE = "SMTP Provider"


@dataclass(frozen=True, slots=True)
class IpRecord:
    """What the IP database says about one address (every field None when it has no entry)."""

    asn: int | None = None
    as_name: str | None = None
    as_domain: str | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class NetworkOwner:
    """Whose network an address is in: `name` as the service map names the AS's domain (else the
    AS name), `asn` its autonomous system. Not who sent from it: a cloud or hosting network carries
    anyone's servers."""

    name: str
    asn: int | None


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    type: str | None


def _parsedmarc_dir() -> Path:
    spec = importlib.util.find_spec("parsedmarc")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("parsedmarc is not installed; its offline data cannot be read.")
    return Path(spec.origin).parent


@functools.cache
def _service_map() -> dict[str, Service]:
    path = _parsedmarc_dir() / "resources" / "maps" / "base_reverse_dns_map.csv"
    services: dict[str, Service] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            key = (row.get("base_reverse_dns") or "").strip().lower()
            name = (row.get("name") or "").strip()
            if key and name:
                services[key] = Service(name, (row.get("type") or "").strip() or None)
    return services


@functools.cache
def _psl_overrides() -> tuple[str, ...]:
    path = _parsedmarc_dir() / "resources" / "maps" / "psl_overrides.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip().lower() for line in lines if line.strip())


_db_lock = threading.Lock()


@functools.cache
def _ip_database() -> maxminddb.Reader:
    path = _parsedmarc_dir() / "resources" / "ipinfo" / "ipinfo_lite.mmdb"
    # MODE_AUTO picks the C extension over a memory map when it is built (it is in the wheels): about
    # 15 times faster per look-up than the pure-Python reader, and the 25 MB file is paged in on demand.
    return maxminddb.open_database(str(path), maxminddb.MODE_AUTO)


def base_domain(hostname: str) -> str | None:
    """The registrable domain of a reverse-DNS name, as parsedmarc's service map keys it: the PSL's
    private suffix, unless one of parsedmarc's overrides folds the name first (e.g. a host under
    "…-applefibernet.com" belongs to "applefibernet.com"). None for a bare public suffix."""
    name = hostname.strip().rstrip(".").lower()
    if not name:
        return None
    overrides = _psl_overrides()
    # One C-level test against all ~300 overrides; the loop only runs for the rare name that matches.
    if name.endswith(overrides):
        override = next(o for o in overrides if name.endswith(o))
        return override.strip(".").strip("-") or None
    return registered_domain(name)


def ip_record(ip: str) -> IpRecord:
    """ASN, AS name, AS domain and country (ISO code) of a canonical address, from IPinfo Lite."""
    with _db_lock:
        # One reader serves every thread (sync callers run enrichment in worker threads), and
        # maxminddb does not promise its Reader is thread-safe; a look-up takes microseconds.
        found = _ip_database().get(ip)
    if not isinstance(found, dict):
        return IpRecord()
    return _ip_record(found)


def network_owner(ip: str) -> NetworkOwner | None:
    """The owner of the network canonical address `ip` is in, from IPinfo Lite and the service map
    (as parsedmarc names an address without a PTR record), or None when the data has no name."""
    record = ip_record(ip)
    service = _service_map().get(record.as_domain) if record.as_domain else None
    name = service.name if service else record.as_name
    return NetworkOwner(name, record.asn) if name else None


def _ip_record(found: dict[str, Any]) -> IpRecord:
    asn: int | None = None
    raw_asn = found.get("asn")
    if isinstance(raw_asn, int):
        asn = raw_asn
    elif isinstance(raw_asn, str):
        digits = raw_asn.upper().removeprefix("AS")
        asn = int(digits) if digits.isdigit() else None
    return IpRecord(
        asn=asn,
        as_name=_text(found.get("as_name")),
        as_domain=(_text(found.get("as_domain")) or "").lower() or None,
        country=_text(found.get("country_code")),
    )


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def service_for(
    reverse_dns: str | None, domain: str | None, as_domain: str | None
) -> Service | None:
    """The service that sends from an address, from the best evidence there is.

    Our provider catalogue first (it names the SMTP relays this product diagnoses), then the service
    map by the PTR's base domain, then the map by the AS's domain (how parsedmarc attributes an
    address without a PTR record). None when nothing names it."""
    if reverse_dns:
        provider = providers.match_ptr(reverse_dns)
        if provider is not None:
            return Service(provider.name, PROVIDER_SERVICE_TYPE)
    services = _service_map()
    if domain and domain in services:
        return services[domain]
    if as_domain and as_domain in services:
        return services[as_domain]
    return None
