"""Checks of SMTP settings that need no connection: the mistakes behind most "my mail is not going
out" tickets (port 25, TLS on the wrong port, the wrong kind of credential for the provider).

The provider is recognised from the host through `diagnostics.providers`; its catalogue entry says
which ports take which TLS mode and what its credentials look like. Each finding says what is wrong,
why it matters and the exact change, naming the provider.
"""

from __future__ import annotations

import re

from diagnostics import providers
from diagnostics.findings import Finding, Severity
from diagnostics.providers import Provider, TlsMode
from diagnostics.smtp.settings import Security, SmtpSettings

__all__ = ["lint"]

# Used when the provider is unknown, or does not list the port: the ports' registered meaning.
_IMPLICIT_PORTS = frozenset({465, 2465})
_STARTTLS_PORTS = frozenset({587, 25, 2525, 2587})
_IAM_SECRET = re.compile(r"[A-Za-z0-9+/]{40}")
_SES_ACCESS_KEY = re.compile(r"AKIA[0-9A-Z]{16}")
_SES_LIKE_HOST = re.compile(r"email-smtp(?:-fips)?\.(?:(?P<region>[^.]+)\.)?amazonaws\.com", re.I)


def lint(settings: SmtpSettings) -> list[Finding]:
    """Every problem visible in `settings` alone, most severe first. No network."""
    provider = providers.match_host(settings.host)
    findings = _transport(settings, provider)
    findings += _credentials(settings)
    if provider is None:
        findings += _unknown(settings)
    else:
        findings += _provider_checks(settings, provider)
    return sorted(findings, key=lambda f: f.severity.rank)


def _transport(settings: SmtpSettings, provider: Provider | None) -> list[Finding]:
    found: list[Finding] = []
    port, security = settings.port, settings.security
    who = provider.name if provider else "most servers"
    if port == 25:
        found.append(
            Finding(
                "port_25",
                Severity.WARNING,
                "Port 25 is blocked by most cloud hosts and home networks to stop spam, so the "
                "connection is often refused or times out. Change the port to 587 (STARTTLS)"
                + (
                    f", which {provider.name} supports." if provider and provider.port(587) else "."
                ),
                term="port",
            )
        )
    documented = provider.port(port) if provider else None
    if documented is not None and documented.tls is not TlsMode.PLAIN:
        expects_implicit = documented.tls is TlsMode.IMPLICIT
    elif port in _IMPLICIT_PORTS | _STARTTLS_PORTS:
        expects_implicit = port in _IMPLICIT_PORTS
    else:
        expects_implicit = None  # a port we know nothing about
    if expects_implicit is True and security is not Security.TLS:
        found.append(
            Finding(
                "tls_port_mismatch",
                Severity.ERROR,
                f"Port {port} expects TLS from the first byte (implicit TLS), but the security is "
                f"set to {security.value}: the server waits for a TLS handshake and the test "
                f"times out. Set the security to TLS, or use port 587 with STARTTLS.",
                term="security",
            )
        )
    elif expects_implicit is False and security is Security.TLS:
        found.append(
            Finding(
                "tls_port_mismatch",
                Severity.ERROR,
                f"The security is set to TLS (encrypted from the first byte), but {who} "
                f"{'talks' if provider else 'talk'} plain SMTP with STARTTLS on port {port}, so the "
                f"TLS handshake fails. Set the security to STARTTLS, or use port 465 with TLS.",
                term="security",
            )
        )
    if security is Security.NONE and (settings.username or settings.secret):
        found.append(
            Finding(
                "plaintext_auth",
                Severity.ERROR,
                "The security is set to none, so the user name and password would cross the "
                "network unencrypted (and most providers refuse a login without TLS). Set the "
                "security to STARTTLS on port 587, or TLS on port 465.",
                term="security",
            )
        )
    return found


def _credentials(settings: SmtpSettings) -> list[Finding]:
    user, secret = bool(settings.username), bool(settings.secret)
    if user and secret:
        return []
    if not user and not secret:
        message = (
            "No user name or password is set. Every listed provider requires a login to relay "
            "mail (only some servers relay by IP address). Enter the SMTP user name and password "
            "or API key from the provider."
        )
        return [Finding("missing_credentials", Severity.WARNING, message, term="username")]
    missing = "password (or API key)" if user else "user name"
    return [
        Finding(
            "missing_credentials",
            Severity.ERROR,
            f"The {missing} is empty, so the login cannot work. Enter the {missing} from the "
            "provider's SMTP settings.",
            term="password" if user else "username",
        )
    ]


def _unknown(settings: SmtpSettings) -> list[Finding]:
    ses_like = _SES_LIKE_HOST.fullmatch(settings.host)
    if ses_like is not None:
        region = ses_like.group("region")
        return [_ses_region_unknown(settings.host, region, providers.get("ses"))]
    return [
        Finding(
            "unknown_provider",
            Severity.INFO,
            f"{settings.host} is not a provider in the catalogue, so only general checks were "
            "made. If it is a known provider under another name, use the host name from the "
            "provider's documentation.",
            term="host",
        )
    ]


def _ses_region_unknown(host: str, region: str | None, ses: Provider) -> Finding:
    said = (
        f"names the region {region!r}, which is not an Amazon SES region"
        if region
        else "names no region"
    )
    return Finding(
        "ses_region_unknown",
        Severity.ERROR,
        f"{host} {said}, so it is not an SES endpoint that resolves. "
        "Use email-smtp.REGION.amazonaws.com with the region where your SES identities are "
        f"verified, for example {ses.example_host}.",
        term="host",
    )


def _provider_checks(settings: SmtpSettings, provider: Provider) -> list[Finding]:
    user, secret = settings.username, settings.secret.reveal()
    found: list[Finding] = []
    key = provider.key
    if key == "ses":
        region = providers.ses_region(settings.host)
        if region not in provider.regions:
            found.append(_ses_region_unknown(settings.host, region, provider))
        if secret and _IAM_SECRET.fullmatch(secret):
            found.append(
                Finding(
                    "ses_iam_secret_key",
                    Severity.ERROR,
                    "The password is 40 characters: that is an IAM secret access key, not the "
                    "Amazon SES SMTP password (44 characters), so the login will fail. In the SES "
                    "console, open SMTP settings, create SMTP credentials for this region and use "
                    "the SMTP password it shows.",
                    term="password",
                )
            )
        if user and not _SES_ACCESS_KEY.fullmatch(user):
            temporary = user.startswith("ASIA")
            found.append(
                Finding(
                    "ses_username_not_access_key",
                    Severity.ERROR,
                    (
                        "The user name is a temporary AWS key (ASIA...), which expires; "
                        if temporary
                        else f"The user name {user!r} is not an access key id; "
                    )
                    + "the Amazon SES SMTP user name is the 20-character key starting with AKIA "
                    "that the SES console shows when you create SMTP credentials. Use that.",
                    term="username",
                )
            )
    elif key == "sendgrid":
        if user and user != "apikey":
            found.append(
                Finding(
                    "sendgrid_username_not_apikey",
                    Severity.ERROR,
                    f"SendGrid's SMTP user name is the literal word apikey, not {user!r} (your "
                    "account name or address is refused). Set the user name to apikey and put the "
                    "API key in the password.",
                    term="username",
                )
            )
        if secret and not provider.secret.matches(secret):
            found.append(
                Finding(
                    "sendgrid_key_format",
                    Severity.ERROR,
                    "The password does not look like a SendGrid API key (SG. followed by two "
                    "parts, 69 characters in all); an account password does not work for SMTP. "
                    "Create an API key with Mail Send permission in SendGrid (Settings > API Keys) "
                    "and paste it whole.",
                    term="password",
                )
            )
    elif key in ("mailgun", "mailgun-eu"):
        if user and "@" not in user:
            found.append(
                Finding(
                    "mailgun_username_not_address",
                    Severity.ERROR,
                    f"{provider.name}'s SMTP user name is an address on your sending domain, such "
                    f"as postmaster@yourdomain.com, not {user!r}. Copy the SMTP login from the "
                    "domain's settings in Mailgun (Sending > Domain settings > SMTP credentials).",
                    term="username",
                )
            )
    elif key == "postmark":
        bad = [
            name
            for name, value in (("user name", user), ("password", secret))
            if value and not provider.secret.matches(value)
        ]
        if bad:
            found.append(
                Finding(
                    "postmark_token_format",
                    Severity.ERROR,
                    f"The {' and '.join(bad)} {'does' if len(bad) == 1 else 'do'} not look like a "
                    "Postmark Server API token (a UUID such as "
                    "1a2b3c4d-1a2b-1a2b-1a2b-1a2b3c4d5e6f). Postmark's SMTP takes the same Server "
                    "API token as both user name and password: copy it from the server's API "
                    "Tokens tab.",
                    term="username" if "user name" in bad else "password",
                )
            )
    return found
