"""The organizational domain of a name (RFC 7489 3.2), on one public suffix list for the whole library.

DMARC alignment, the DMARC record's fallback look-up, a header's alignment and the name of a
report's sender all ask the same question: which registered domain is this name under? They ask it
here, of the list the publicsuffixlist package ships (loaded once per process, never fetched), so two
parts of the desk can never disagree about it.

    organizational_domain("Mail.Example.co.uk.")  ->  "example.co.uk"
    organizational_domain("co.uk")                ->  "co.uk"      (a public suffix is its own)
    registered_domain("co.uk")                    ->  None

An internationalized name keeps its form: the list holds both the Unicode and the A-label ("xn--")
spelling of every suffix, so "a.b.xn--55qx5d.cn" gives "b.xn--55qx5d.cn" and "a.b.公司.cn" gives
"b.公司.cn". Reports file names in A-label form (diagnostics/idn.py); compare like with like.
"""

from __future__ import annotations

import functools

from publicsuffixlist import PublicSuffixList

__all__ = ["organizational_domain", "public_suffix_list", "registered_domain"]


@functools.cache
def public_suffix_list() -> PublicSuffixList:
    """The public suffix list bundled with the publicsuffixlist package, read once (a one-off cost
    of some milliseconds); it never goes to the network."""
    return PublicSuffixList()


def _clean(name: str) -> str:
    return name.strip().rstrip(".").lower()


def registered_domain(name: str) -> str | None:
    """The registered domain at or above `name` (a public suffix and one label more), in lower case
    without the final dot; None for a public suffix itself or a name the list cannot place."""
    found = public_suffix_list().privatesuffix(_clean(name))
    return str(found) if found else None


# Explaining a large domain asks for the same few thousand names again and again.
@functools.lru_cache(maxsize=65536)
def organizational_domain(domain: str) -> str:
    """The organizational domain of `domain` (RFC 7489 3.2): "mail.example.co.uk" -> "example.co.uk",
    in lower case without the final dot. A public suffix itself, or a name the list cannot place,
    is its own organizational domain."""
    clean = _clean(domain)
    return registered_domain(clean) or clean
