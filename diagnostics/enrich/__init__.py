"""Who sends from an IP address: reverse DNS, service, AS and country for the sources in DMARC reports.

    from diagnostics.enrich import enrich, MemoryCache
    table = enrich(records["source_ip"], resolver=resolver, cache=MemoryCache())
    table.columns  ->  ip, reverse_dns, base_domain, service_name, service_type, asn, as_name, country

- `enrich` / `enrich_async` (run.py): one row per distinct address, PTR look-ups concurrent and
  bounded, cache first; `offline=True` uses only the offline data.
- `EnrichmentCache`, `MemoryCache` (cache.py): rows kept between runs with an expiry.
- `Enrichment`, `describe`, `COLUMNS` (row.py): one row as a value, filled from offline data.
- `split_ips`, `distinct_ips` (addresses.py): canonical addresses; invalid values are refused by
  `enrich` and can be set aside with `split_ips` first.
- offline.py: parsedmarc's service map and IPinfo Lite database, the public suffix list, our
  provider catalogue, each loaded once per process; `network_owner` names whose network an address
  is in (a label, not the sender).
"""

from __future__ import annotations

from diagnostics.enrich.addresses import IpSplit, canonical_ip, distinct_ips, split_ips
from diagnostics.enrich.cache import EnrichmentCache, MemoryCache
from diagnostics.enrich.offline import PROVIDER_SERVICE_TYPE, NetworkOwner, network_owner
from diagnostics.enrich.row import COLUMNS, Enrichment, describe, to_frame
from diagnostics.enrich.run import DEFAULT_CACHE_TTL, enrich, enrich_async

__all__ = [
    "COLUMNS",
    "DEFAULT_CACHE_TTL",
    "PROVIDER_SERVICE_TYPE",
    "Enrichment",
    "EnrichmentCache",
    "IpSplit",
    "MemoryCache",
    "NetworkOwner",
    "canonical_ip",
    "describe",
    "distinct_ips",
    "enrich",
    "enrich_async",
    "network_owner",
    "split_ips",
    "to_frame",
]
