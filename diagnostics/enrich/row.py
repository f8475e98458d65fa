"""One enriched address as a value, and the table of them that `enrich` returns.

`describe` is pure over the offline data: given an address and its reverse-DNS name (or None), it
fills in base domain, service, ASN and country. The DNS step lives elsewhere, so the same function
serves online and offline runs and rows read back from a cache.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import astuple, dataclass

import pandas as pd

from diagnostics.enrich import offline

__all__ = ["COLUMNS", "Enrichment", "describe", "to_frame"]

COLUMNS: tuple[str, ...] = (
    "ip",
    "reverse_dns",
    "base_domain",
    "service_name",
    "service_type",
    "asn",
    "as_name",
    "country",
)

_DTYPES: dict[str, str] = {column: "string" for column in COLUMNS} | {"asn": "Int64"}


@dataclass(frozen=True, slots=True)
class Enrichment:
    """What is known about one sending address. `reverse_dns` is None when there is no PTR record,
    it timed out, or the run was offline; `country` is an ISO 3166 code."""

    ip: str
    reverse_dns: str | None = None
    base_domain: str | None = None
    service_name: str | None = None
    service_type: str | None = None
    asn: int | None = None
    as_name: str | None = None
    country: str | None = None


def describe(ip: str, reverse_dns: str | None) -> Enrichment:
    """Everything the offline data says about canonical address `ip` with PTR name `reverse_dns`."""
    record = offline.ip_record(ip)
    domain = offline.base_domain(reverse_dns) if reverse_dns else None
    service = offline.service_for(reverse_dns, domain, record.as_domain)
    return Enrichment(
        ip=ip,
        reverse_dns=reverse_dns,
        base_domain=domain,
        service_name=service.name if service else None,
        service_type=service.type if service else None,
        asn=record.asn,
        as_name=record.as_name,
        country=record.country,
    )


def to_frame(rows: Iterable[Enrichment]) -> pd.DataFrame:
    """Rows as a DataFrame with exactly COLUMNS: text as pandas strings, `asn` as nullable Int64,
    missing values as NA."""
    frame = pd.DataFrame([astuple(row) for row in rows], columns=list(COLUMNS))
    return frame.astype(_DTYPES)
