"""The result of an SPF analysis: the include/redirect tree of a domain and what was found in it.

    SpfNode      one domain's record: its look-up cost, the networks it authorizes, its children
                 (includes and redirect, in evaluation order) and its own findings
    SpfAnalysis  the tree, the RFC 7208 4.6.4 look-up totals and every finding, errors first

Values only, no I/O: `diagnostics.spf.analyze` builds them, pages, the CLI and `recommend` read them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field

from diagnostics.findings import Finding

__all__ = [
    "FINDING_CODES",
    "MAX_LOOKUPS",
    "MAX_VOID_LOOKUPS",
    "Network",
    "SpfAnalysis",
    "SpfNode",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_LOOKUPS = 10
MAX_VOID_LOOKUPS = 2

# Every code an analysis (or a recommendation) may report. The first sixteen are the lint codes of
# issue 2; the last two say the analysis itself could not be done (a name that cannot exist, DNS
# that did not answer), which a page shows like any other finding.
FINDING_CODES = (
    "no_record",
    "multiple_records",
    "syntax_error",
    "too_many_lookups",
    "too_many_void_lookups",
    "include_loop",
    "include_without_record",
    "ptr_mechanism",
    "pass_all",
    "neutral_all",
    "no_all",
    "terms_after_all",
    "duplicate_include",
    "overlapping_networks",
    "record_too_long",
    "deprecated_spf_rr",
    "invalid_domain",
    "dns_error",
)


@dataclass(frozen=True, slots=True)
class SpfNode:
    """One domain in the tree.

    `via` is the term that led here ("include:_spf.example.net", "redirect=example.net"; None for
    the domain analysed). `lookups` counts this record's own DNS terms (include a mx ptr exists and
    redirect=, RFC 7208 4.6.4); `total_lookups` adds the subtree's; `running_total` is the count an
    evaluation that visits every term has reached when it leaves this subtree, to read against 10.

    `networks` are what this record itself authorizes with a "+" (or no) qualifier: ip4/ip6 terms
    and the addresses a/mx resolve to. Networks of includes are in the children; `authorized_networks`
    gathers the subtree's. `static` is False when the record (not its children) has macros, exists
    or ptr, whose matches cannot be written down as a list of networks.
    """

    domain: str
    record: str | None
    via: str | None = None
    qualifier: str = "+"  # of the include that led here; "-include:x" authorizes nothing
    lookups: int = 0
    void_lookups: int = 0
    running_total: int = 0
    networks: tuple[Network, ...] = ()
    children: tuple[SpfNode, ...] = ()
    findings: tuple[Finding, ...] = ()
    static: bool = True
    error: str | None = None  # why the record could not be read (DNS failure, none published)

    @property
    def total_lookups(self) -> int:
        return self.lookups + sum(child.total_lookups for child in self.children)

    def walk(self) -> Iterator[SpfNode]:
        """This node and every node below it, in evaluation order (depth first)."""
        yield self
        for child in self.children:
            yield from child.walk()

    def authorizing(self) -> Iterator[SpfNode]:
        """The nodes whose networks this node authorizes: itself, and children reached through a
        "+" include or a redirect (a "-include" or "~include" never makes an address pass)."""
        yield self
        for child in self.children:
            if child.qualifier == "+":
                yield from child.authorizing()

    def authorized_networks(self) -> tuple[Network, ...]:
        """Every network the subtree authorizes, collapsed (overlaps merged) and sorted."""
        v4: list[ipaddress.IPv4Network] = []
        v6: list[ipaddress.IPv6Network] = []
        for node in self.authorizing():
            for network in node.networks:
                if isinstance(network, ipaddress.IPv4Network):
                    v4.append(network)
                else:
                    v6.append(network)
        return (*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6))

    def is_static(self) -> bool:
        """True when the whole subtree can be written as networks (no macros, exists or ptr)."""
        return all(node.static and node.error is None for node in self.walk())

    def find(self, domain: str) -> SpfNode | None:
        """The first authorizing node for `domain` (case-insensitive), or None."""
        wanted = domain.lower().rstrip(".")
        return next((n for n in self.authorizing() if n.domain == wanted), None)


@dataclass(frozen=True, slots=True)
class SpfAnalysis:
    """`record` is the domain's SPF record text (None when it has none or it could not be read);
    `lookups` and `void_lookups` count what an evaluation visiting every term would spend;
    `findings` holds every node's findings plus those about the tree as a whole, errors first."""

    domain: str
    record: str | None
    lookups: int
    void_lookups: int
    tree: SpfNode
    findings: tuple[Finding, ...] = field(default=())

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.findings)

    def has(self, code: str) -> bool:
        return code in self.codes

    def authorized_networks(self) -> tuple[Network, ...]:
        return self.tree.authorized_networks()

    def authorizes(self, ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool | None:
        """Whether `ip` is in a network the tree authorizes. None when the tree is not static (a
        macro, exists or ptr could still match it): ask `check_host` for a verdict then. This
        ignores term order (a "-ip4" before a "+ip4" that covers the same address)."""
        address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.authorized_networks()):
            return True
        return False if self.tree.is_static() else None

    def to_dict(self) -> dict[str, object]:
        return {
            "domain": self.domain,
            "record": self.record,
            "lookups": self.lookups,
            "void_lookups": self.void_lookups,
            "findings": [f.to_dict() for f in self.findings],
            "tree": _node_dict(self.tree),
        }


def _node_dict(node: SpfNode) -> dict[str, object]:
    return {
        "domain": node.domain,
        "via": node.via,
        "record": node.record,
        "lookups": node.lookups,
        "running_total": node.running_total,
        "void_lookups": node.void_lookups,
        "networks": [str(n) for n in node.networks],
        "static": node.static,
        "error": node.error,
        "findings": [f.to_dict() for f in node.findings],
        "children": [_node_dict(c) for c in node.children],
    }
