"""check_host() for callers: validate the arguments, then drive the pure engine with a resolver.

    check_host(ip, sender, helo="", *, resolver=None, receiver="unknown") -> SpfResult
    await check_host_async(ip, sender, helo="", *, resolver=None, receiver="unknown") -> SpfResult

Both drive the one engine (`diagnostics.spf.engine.evaluate`, a DNS flow) with the drivers of
`diagnostics._flow`: the rules exist once, and only the way DNS is asked differs.

`ip` is an IPv4 or IPv6 address (an IPv4-mapped IPv6 address is evaluated as IPv4). `sender` is the
MAIL FROM address; when it is empty the HELO identity is checked instead, as
"postmaster@<helo>" (RFC 7208 2.3, 2.4). A sender without a local part gets "postmaster".
Every outcome, including a domain that cannot exist (result none) and DNS failures (temperror), is
an SpfResult; only arguments that are not an address, or no identity at all, raise InvalidInput.
"""

from __future__ import annotations

import ipaddress

from diagnostics._flow import run_flow, run_flow_async
from diagnostics.dns import Resolver, get_resolver, normalize_name
from diagnostics.errors import InvalidInput
from diagnostics.spf.engine import Request, evaluate
from diagnostics.spf.result import Result, SpfResult, TraceStep

__all__ = ["check_host", "check_host_async", "make_request"]

_MAX_SENDER = 1000


def check_host(
    ip: str,
    sender: str,
    helo: str = "",
    *,
    resolver: Resolver | None = None,
    receiver: str = "unknown",
) -> SpfResult:
    """Evaluate the SPF policy of the sender's domain (or the HELO name) for a client `ip`."""
    request = make_request(ip, sender, helo, receiver=receiver)
    if isinstance(request, SpfResult):
        return request
    return run_flow(evaluate(request), get_resolver(resolver))


async def check_host_async(
    ip: str,
    sender: str,
    helo: str = "",
    *,
    resolver: Resolver | None = None,
    receiver: str = "unknown",
) -> SpfResult:
    """`check_host` for asyncio: the same rules, DNS through `Resolver.query_async`."""
    request = make_request(ip, sender, helo, receiver=receiver)
    if isinstance(request, SpfResult):
        return request
    return await run_flow_async(evaluate(request), get_resolver(resolver))


def make_request(
    ip: str, sender: str, helo: str = "", *, receiver: str = "unknown"
) -> Request | SpfResult:
    """The engine's Request for these arguments, or the result "none" when the identity's
    domain cannot have an SPF record (RFC 7208 4.3). Raises InvalidInput for bad arguments."""
    address = _parse_ip(ip)
    sender = _text(sender, "sender")
    helo = _text(helo, "HELO name")
    if not sender and not helo:
        raise InvalidInput("Give a sender address or a HELO name to check.")
    identity = sender or helo
    local, at, domain = identity.rpartition("@")
    if not at:
        local, domain = "", identity
    if not sender:
        local = ""  # the HELO identity is checked as postmaster@helo (RFC 7208 2.3)
    full_sender = f"{local or 'postmaster'}@{domain}"
    problem, domain = _check_domain(domain)
    if problem is not None:
        step = TraceStep(0, domain, "initial processing", problem)
        return SpfResult(
            Result.NONE, domain, ip.strip(), full_sender, problem=problem, trace=(step,)
        )
    return Request(
        ip=address,
        sender=full_sender,
        domain=domain,
        helo=helo,
        receiver=receiver,
        original_ip=ip.strip(),
    )


def _parse_ip(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if not isinstance(ip, str):
        raise InvalidInput(f"The IP address must be text, not {type(ip).__name__}.")
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        raise InvalidInput(f"{ip!r} is not an IPv4 or IPv6 address.") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:192.0.2.1 is an IPv4 client seen through an IPv6 socket: evaluate it as IPv4.
        return address.ipv4_mapped
    return address


def _text(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"The {what} must be text, not {type(value).__name__}.")
    value = value.strip()
    if len(value) > _MAX_SENDER:
        raise InvalidInput(f"The {what} is over {_MAX_SENDER} characters.")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise InvalidInput(f"The {what} {value!r} contains control characters.")
    return value


def _check_domain(domain: str) -> tuple[str | None, str]:
    """(why `domain` cannot have an SPF record (RFC 7208 4.3) or None, its normalised form)."""
    if not domain:
        return "There is no domain to check.", domain
    if domain.startswith("["):
        return (
            f"{domain} is an address literal, not a domain name: there is no SPF record.",
            domain,
        )
    try:
        name = normalize_name(domain)
    except InvalidInput as exc:
        return f"{exc} A malformed domain has no SPF record (result none).", domain
    if "." not in name:
        return (
            f"{domain!r} is not a fully qualified domain name: there is no SPF record.",
            domain,
        )
    return None, name
