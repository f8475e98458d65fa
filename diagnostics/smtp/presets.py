"""Presets for the SMTP settings form: host, port and security filled in from the provider catalogue.

A preset never guesses credentials; it says what the user name and secret look like (from the
catalogue) so the form can show it next to the fields. Amazon SES takes a region, since its host
name (and its SMTP password) belong to one region.
"""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics import providers
from diagnostics.errors import InvalidInput
from diagnostics.providers import Provider, TlsMode
from diagnostics.smtp.settings import Security, SmtpSettings

__all__ = ["Preset", "preset", "presets"]


@dataclass(frozen=True, slots=True)
class Preset:
    """Host, port and security for one provider, with what its user name and secret look like."""

    key: str
    name: str
    host: str
    port: int
    security: Security
    username_hint: str
    secret_hint: str
    regions: tuple[str, ...] = ()  # non-empty when the host depends on a region (SES)

    def settings(
        self, *, username: str = "", password: str = "", from_address: str = ""
    ) -> SmtpSettings:
        return SmtpSettings(self.host, self.port, self.security, username, password, from_address)


def _default_port(provider: Provider) -> tuple[int, Security]:
    # 587 with STARTTLS is what nearly every provider documents first and what networks let out.
    documented = provider.port(587)
    if documented is not None and documented.tls is TlsMode.STARTTLS:
        return 587, Security.STARTTLS
    for port in provider.ports:
        if port.tls is TlsMode.STARTTLS:
            return port.number, Security.STARTTLS
    for port in provider.ports:
        if port.tls is TlsMode.IMPLICIT:
            return port.number, Security.TLS
    return 587, Security.STARTTLS


def preset(key: str, *, region: str | None = None) -> Preset:
    """The preset for provider `key`; for SES, `region` picks the endpoint (default the example's)."""
    try:
        provider = providers.get(key)
    except KeyError as exc:
        raise InvalidInput(str(exc.args[0])) from None
    host = provider.example_host
    if provider.key == "ses":
        chosen = region or providers.ses_region(host)
        if chosen not in provider.regions:
            raise InvalidInput(
                f"{chosen!r} is not an Amazon SES region; pick one of: {', '.join(provider.regions)}."
            )
        host = f"email-smtp.{chosen}.amazonaws.com"
    elif region is not None:
        raise InvalidInput(f"{provider.name} has no regions to choose from.")
    port, security = _default_port(provider)
    return Preset(
        key=provider.key,
        name=provider.name,
        host=host,
        port=port,
        security=security,
        username_hint=provider.username.description,
        secret_hint=provider.secret.description,
        regions=provider.regions if provider.key == "ses" else (),
    )


def presets() -> list[Preset]:
    """One preset per provider in the catalogue, in catalogue order (managed sending excluded: it
    is not a custom connection)."""
    return [preset(p.key) for p in providers.all() if p.key != "trekmail"]
