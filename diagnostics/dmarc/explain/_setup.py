"""What the account is configured to send through, as `explain` reads it: evidence no report has.

`explain(records, providers=..., hosts=...)` takes the account's connections in the two forms a
caller has them: catalogue keys (`providers`) and SMTP host names (`hosts`, e.g.
`email-smtp.eu-west-1.amazonaws.com`). A host the catalogue knows names its provider and, where
the host carries one, its region (SES's), which fills the region of a custom MAIL FROM record. A
host the catalogue does not know is not evidence of anything and is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from diagnostics import providers as catalogue
from diagnostics.errors import InvalidInput

__all__ = ["SendingSetup"]


@dataclass(frozen=True, slots=True)
class SendingSetup:
    """The providers the account sends through (catalogue keys, in the order given), the SMTP
    host each was named by (None for a key given alone) and the region that host carries."""

    hosts: tuple[tuple[str, str | None], ...] = ()

    @classmethod
    def of(cls, providers: Sequence[str] = (), hosts: Sequence[str] = ()) -> SendingSetup:
        """From catalogue keys and SMTP hosts; InvalidInput for a key the catalogue does not know."""
        if isinstance(providers, str):
            providers = [providers]  # one key passed bare, not its letters
        if isinstance(hosts, str):
            hosts = [hosts]
        found: dict[str, str | None] = {}
        for host in hosts:
            provider = catalogue.match_host(host)
            if provider is not None and found.get(provider.key) is None:
                found[provider.key] = host.strip().rstrip(".").lower()
        for key in providers:
            try:
                provider = catalogue.get(key)
            except KeyError as exc:
                raise InvalidInput(str(exc.args[0])) from None
            found.setdefault(provider.key, None)
        return cls(tuple(found.items()))

    def __contains__(self, key: object) -> bool:
        return any(key == k for k, _ in self.hosts)

    def host(self, key: str) -> str | None:
        return next((h for k, h in self.hosts if k == key), None)

    def region(self, key: str) -> str | None:
        """The region of `key`'s SMTP host, when the host names one."""
        host = self.host(key)
        return catalogue.get(key).region_of(host) if host else None

    def says(self, key: str) -> str:
        """The evidence in words: "the account sends through Microsoft 365 (smtp.office365.com)"."""
        name = catalogue.get(key).name
        host = self.host(key)
        return f"the account sends through {name}" + (f" ({host})" if host else "")
