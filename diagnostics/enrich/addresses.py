"""Turning the IP values a caller holds (a list, a DataFrame column) into distinct, canonical addresses.

Enrichment is keyed by the canonical text of an address (`ipaddress` form: lower case, IPv6 compressed,
IPv4-mapped IPv6 as ::ffff:a.b.c.d), so "2001:DB8::1" and "2001:db8:0::1" are one row. Missing values (None, NaN, pandas NA, blank strings)
are skipped: a record without a source IP has nothing to enrich. Anything else that is not an address
is invalid; `distinct_ips` refuses the whole call for it (an argument error, before any DNS), and
`split_ips` sets such values aside for callers that hold messy data and want to go on without them.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass

import dns.reversename

from diagnostics.errors import InvalidInput

__all__ = ["IpSplit", "canonical_ip", "distinct_ips", "reverse_pointer", "split_ips"]

_SHOWN_INVALID = 5


@dataclass(frozen=True, slots=True)
class IpSplit:
    """Distinct canonical addresses in first-seen order, and the distinct values that are not
    addresses, as given."""

    valid: tuple[str, ...]
    invalid: tuple[str, ...]


def canonical_ip(value: object) -> str | None:
    """The canonical text of `value` as an IP address, or None when it is not one.

    Zone-scoped IPv6 addresses ("fe80::1%eth0") are refused: the scope means nothing off the host
    that wrote it, and there is no reverse-DNS name for it."""
    if not isinstance(value, str | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return None
    try:
        address = ipaddress.ip_address(value.strip() if isinstance(value, str) else value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            return None
        if address.ipv4_mapped is not None:
            # RFC 5952 5: the dotted form (Python 3.11 would write "::ffff:36f0:801").
            return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    # pandas.NA and NaT without importing pandas here: both refuse to be truth-tested or compared.
    return type(value).__name__ in ("NAType", "NaTType")


def split_ips(values: Iterable[object]) -> IpSplit:
    """Distinct addresses (first-seen order) and distinct invalid values; missing values dropped."""
    valid: dict[str, None] = {}
    invalid: dict[str, None] = {}
    # Deduplicate the raw values first: a report column repeats a few thousand addresses a million
    # times, and parsing each distinct value once is what keeps this cheap.
    for value in dict.fromkeys(_hashable(v) for v in values):
        if _is_missing(value):
            continue
        canonical = canonical_ip(value)
        if canonical is None:
            invalid[repr(value) if not isinstance(value, str) else value] = None
        else:
            valid[canonical] = None
    return IpSplit(tuple(valid), tuple(invalid))


def _hashable(value: object) -> object:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def distinct_ips(values: Iterable[object]) -> tuple[str, ...]:
    """Distinct canonical addresses in first-seen order.

    Raises InvalidInput naming the values that are not IP addresses (the first few of them)."""
    split = split_ips(values)
    if split.invalid:
        shown = ", ".join(repr(v) for v in split.invalid[:_SHOWN_INVALID])
        more = len(split.invalid) - _SHOWN_INVALID
        tail = f" and {more} more" if more > 0 else ""
        noun = "value is" if len(split.invalid) == 1 else "values are"
        raise InvalidInput(
            f"{len(split.invalid)} {noun} not an IP address: {shown}{tail}. "
            "Use diagnostics.enrich.split_ips() to set them aside first."
        )
    return split.valid


def reverse_pointer(ip: str) -> str:
    """The PTR name of a canonical address: d.c.b.a.in-addr.arpa or the nibbles under ip6.arpa.

    An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is an IPv4 sender, so its name is under
    in-addr.arpa, as dnspython (and so parsedmarc) builds it."""
    return str(dns.reversename.from_address(ip).to_text(omit_final_dot=True))
