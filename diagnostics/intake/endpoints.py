"""`HOST[:PORT]` as people type it on a command line: a name, an IPv4 address, or `[IPv6]:PORT`."""

from __future__ import annotations

from diagnostics.errors import InvalidInput

__all__ = ["parse_endpoint"]


def parse_endpoint(text: str, default_port: int | None, what: str) -> tuple[str, int | None]:
    """(host, port) from `HOST`, `HOST:PORT`, `[V6]:PORT` or a bare IPv6 address; the port is
    `default_port` when none is given. `what` names the option in the message of InvalidInput."""
    spec = text.strip()
    host, port_text = spec, ""
    if spec.startswith("["):
        host, closed, rest = spec[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise InvalidInput(f"{what} {spec!r}: write an IPv6 address as [ADDRESS]:PORT.")
        port_text = rest[1:]
    elif spec.count(":") == 1:
        host, _, port_text = spec.partition(":")
    if not host or any(c.isspace() or c in "/@" for c in host):
        raise InvalidInput(
            f"{what} {spec!r}: give a host name or address, e.g. imap.example.com:993."
        )
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 <= int(port_text) < 65536:
        raise InvalidInput(f"{what} {spec!r}: the port must be a number from 0 to 65535.")
    return host, int(port_text)
