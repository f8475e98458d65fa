"""From what happened in a probe to what it means: symptom, provider hints, explanation and fix.

Pure logic: the probe (I/O) describes the failure as a `Failure` value; `diagnose` turns it into
plain words. Kept apart so every wording can be tested without a server, and so the page can
re-explain a stored outcome later. The words quote the server's reply, which may echo the password:
`diagnose` scrubs them (diagnostics.redaction) of every form of the settings' password itself, so a
diagnosis never carries it, whoever calls it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from diagnostics.redaction import Scrubber
from diagnostics.smtp.codes import Hint, Stage, Symptom
from diagnostics.smtp.result import Reply
from diagnostics.smtp.settings import Security, SmtpSettings

__all__ = ["Failure", "FailureKind", "ProbeDiagnosis", "ProviderLike", "diagnose"]

# Ports where TLS starts with the first byte; everything else is plain-then-STARTTLS.
IMPLICIT_TLS_PORTS = frozenset({465, 2465})
SES_SMTP_PASSWORD = re.compile(r"[A-Za-z0-9+/]{43}=?|[A-Za-z0-9+/]{44}")


class ProviderLike(Protocol):
    """What the diagnosis needs of a provider from the catalogue."""

    @property
    def key(self) -> str: ...

    @property
    def name(self) -> str: ...


class FailureKind(StrEnum):
    """How a stage failed, as the I/O saw it (before any interpretation)."""

    DNS = "dns"  # the host name did not resolve
    REFUSED = "refused"  # the TCP connection was refused (RST)
    UNREACHABLE = "unreachable"  # no route, network down: an OS error other than refusal
    CONNECT_TIMEOUT = "connect_timeout"  # the TCP handshake never completed
    TIMEOUT = "timeout"  # a reply (or the TLS handshake) never came
    TLS_PLAINTEXT = "tls_plaintext"  # implicit TLS, but the server talked plain SMTP
    TLS_ON_CONNECT = "tls_on_connect"  # plain connect, but the server waits for a TLS handshake
    TLS_HANDSHAKE = "tls_handshake"  # the handshake failed for another reason
    CERT_UNTRUSTED = "cert_untrusted"
    CERT_HOSTNAME = "cert_hostname"
    NO_STARTTLS = "no_starttls"  # STARTTLS not offered in EHLO
    NO_AUTH = "no_auth"  # AUTH (or a mechanism we speak) not offered
    REPLY = "reply"  # the server answered a command with an error code
    DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong, at which stage, with the reply or OS error as evidence. `detail` is the
    technical reason (an OS or TLS error text); `offered_starttls` says whether EHLO listed STARTTLS."""

    stage: Stage
    kind: FailureKind
    reply: Reply | None = None
    detail: str = ""
    offered_starttls: bool = False
    accepted_recipients: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProbeDiagnosis:
    """What a failed probe means: the symptom, the provider hints, and in plain words why and what
    to change (scrubbed of the password). Not DMARC's `diagnostics.dmarc.Diagnosis` of a source."""

    symptom: Symptom
    hints: tuple[Hint, ...]
    explanation: str
    fix: str


def diagnose(
    failure: Failure,
    settings: SmtpSettings,
    provider: ProviderLike | None = None,
    *,
    scrubber: Scrubber | None = None,
) -> ProbeDiagnosis:
    """The symptom, the provider hints, and plain-language explanation and fix for `failure`.
    The words are scrubbed with `scrubber` (the probe passes its session's), by default one that
    knows the settings' password."""
    symptom = _symptom(failure, settings)
    hints = _hints(symptom, failure, settings, provider)
    explanation, fix = _words(symptom, failure, settings, provider)
    for hint in hints:
        extra_why, better_fix = _hint_words(hint, settings, provider)
        explanation = f"{explanation} {extra_why}"
        fix = better_fix
    scrub = scrubber if scrubber is not None else Scrubber([(settings.username, settings.secret)])
    return ProbeDiagnosis(symptom, hints, scrub(explanation), scrub(fix))


# --- symptom -------------------------------------------------------------------------------------


def _mentions_starttls(reply: Reply) -> bool:
    text = reply.text.lower()
    return "starttls" in text or "tls" in text.split() or reply.code == 538


def _mentions_auth(reply: Reply) -> bool:
    text = reply.text.lower()
    return reply.code == 530 or any(
        word in text for word in ("authentication required", "auth required", "not authenticated")
    )


def _relay_denied(reply: Reply) -> bool:
    text = reply.text.lower()
    return "relay" in text and any(w in text for w in ("denied", "not permitted", "not allowed"))


def _symptom(failure: Failure, settings: SmtpSettings) -> Symptom:
    kind, stage, reply = failure.kind, failure.stage, failure.reply
    simple = {
        FailureKind.DNS: Symptom.DNS_FAILURE,
        FailureKind.REFUSED: Symptom.CONNECTION_REFUSED,
        FailureKind.UNREACHABLE: Symptom.CONNECTION_REFUSED,
        FailureKind.CONNECT_TIMEOUT: Symptom.CONNECT_TIMEOUT,
        FailureKind.TLS_PLAINTEXT: Symptom.TLS_ON_PLAIN_PORT,
        FailureKind.TLS_ON_CONNECT: Symptom.PLAIN_ON_TLS_PORT,
        FailureKind.CERT_UNTRUSTED: Symptom.TLS_CERTIFICATE_UNTRUSTED,
        FailureKind.CERT_HOSTNAME: Symptom.TLS_HOSTNAME_MISMATCH,
        FailureKind.DISCONNECTED: Symptom.SERVER_DISCONNECTED,
        FailureKind.TIMEOUT: Symptom.TIMEOUT,
        FailureKind.TLS_HANDSHAKE: Symptom.SERVER_DISCONNECTED,
    }
    if kind in simple:
        return simple[kind]
    if kind is FailureKind.NO_STARTTLS:
        return Symptom.STARTTLS_UNAVAILABLE
    if kind is FailureKind.NO_AUTH:
        # Many servers list AUTH only once the session is encrypted.
        if settings.security is Security.NONE and failure.offered_starttls:
            return Symptom.STARTTLS_REQUIRED
        return Symptom.AUTH_UNAVAILABLE
    assert reply is not None, "a REPLY failure carries the reply"
    if (reply.code == 530 and _mentions_starttls(reply)) or reply.code == 538:
        return Symptom.STARTTLS_REQUIRED
    if stage in (Stage.BANNER, Stage.EHLO):
        return Symptom.CONNECTION_REFUSED
    if stage is Stage.STARTTLS:
        return Symptom.STARTTLS_UNAVAILABLE
    if stage is Stage.AUTH:
        if reply.code in (504, 502):
            return Symptom.AUTH_UNAVAILABLE
        return Symptom.AUTH_FAILED
    if _mentions_auth(reply) or (not settings.username and _relay_denied(reply)):
        return Symptom.AUTH_REQUIRED
    if stage is Stage.MAIL_FROM:
        return Symptom.SENDER_REJECTED
    # A refusal of some recipients is reported once DATA went to the others: the command tells.
    if stage is Stage.RCPT_TO or reply.command.startswith("RCPT"):
        return Symptom.RECIPIENT_REJECTED
    return Symptom.MESSAGE_REJECTED


# --- hints ---------------------------------------------------------------------------------------

_REPLY_HINTS: list[tuple[Hint, re.Pattern[str]]] = [
    (Hint.SES_SANDBOX_UNVERIFIED, re.compile(r"email address is not verified", re.I)),
    (
        Hint.SENDGRID_SENDER_IDENTITY,
        re.compile(r"not authorized to send from|verified sender identity", re.I),
    ),
    (Hint.MAILGUN_SANDBOX, re.compile(r"sandbox subdomains are for test purposes", re.I)),
    (
        Hint.MICROSOFT_SMTP_AUTH_DISABLED,
        re.compile(r"5\.7\.139|smtpclientauthentication is disabled", re.I),
    ),
    (
        Hint.GMAIL_APP_PASSWORD,
        re.compile(
            r"application-specific password required|username and password not accepted", re.I
        ),
    ),
]


def _hints(
    symptom: Symptom, failure: Failure, settings: SmtpSettings, provider: ProviderLike | None
) -> tuple[Hint, ...]:
    found: list[Hint] = []
    key = provider.key if provider else None
    # A server that takes the connection and never greets is, on port 25, the network's
    # interception: the same block as a refusal or a timeout.
    unreachable = symptom in (Symptom.CONNECTION_REFUSED, Symptom.CONNECT_TIMEOUT) or (
        symptom is Symptom.TIMEOUT and failure.stage is Stage.BANNER
    )
    if settings.port == 25 and unreachable and failure.kind is not FailureKind.REPLY:
        found.append(Hint.PORT_25_BLOCKED)
    if symptom is Symptom.AUTH_FAILED:
        password = settings.secret.reveal()
        if key == "ses" and not SES_SMTP_PASSWORD.fullmatch(password):
            found.append(Hint.SES_IAM_KEY_USED)
        if key == "sendgrid" and settings.username != "apikey":
            found.append(Hint.SENDGRID_USERNAME_NOT_APIKEY)
    if failure.reply is not None:
        for hint, pattern in _REPLY_HINTS:
            if pattern.search(failure.reply.text) and hint not in found:
                found.append(hint)
    return tuple(found)


# --- words ---------------------------------------------------------------------------------------


_DURING = {
    Stage.RESOLVE: "while its name was looked up",
    Stage.CONNECT: "while connecting",
    Stage.TLS: "during the TLS handshake",
    Stage.BANNER: "before sending its greeting",
    Stage.EHLO: "after the greeting (EHLO)",
    Stage.STARTTLS: "while switching to TLS (STARTTLS)",
    Stage.AUTH: "during the login (AUTH)",
    Stage.MAIL_FROM: "at the sender (MAIL FROM)",
    Stage.RCPT_TO: "at the recipients (RCPT TO)",
    Stage.DATA: "while the message was sent (DATA)",
}


def _who(provider: ProviderLike | None) -> str:
    return provider.name if provider else "the server"


def _words(
    symptom: Symptom, failure: Failure, settings: SmtpSettings, provider: ProviderLike | None
) -> tuple[str, str]:
    host, port = settings.host, settings.port
    who = _who(provider)
    reply = failure.reply
    said = f' {who[0].upper() + who[1:]} answered "{reply}" to {reply.command}.' if reply else ""
    detail = f" ({failure.detail})" if failure.detail else ""
    colon = f": {failure.detail}" if failure.detail else ""
    other_port = 587 if port in IMPLICIT_TLS_PORTS else 465
    match symptom:
        case Symptom.DNS_FAILURE:
            return (
                f"The host name {host} could not be found in DNS{detail}.",
                "Check the host name for typos against the provider's documentation "
                "(for example email-smtp.us-east-1.amazonaws.com or smtp.sendgrid.net).",
            )
        case Symptom.CONNECTION_REFUSED if reply is not None:
            return (
                f"{who[0].upper() + who[1:]} at {host} refused the session before any mail was sent.{said}",
                "The server does not accept connections from here; check the host name and port, "
                "or ask the provider whether this address is blocked.",
            )
        case Symptom.CONNECTION_REFUSED:
            return (
                f"Nothing accepted the connection on {host} port {port}{detail}.",
                f"Check the port: most providers take 587 with STARTTLS (or {other_port}"
                f"{' with TLS' if other_port == 465 else ''}). If the port is right, a firewall "
                "between here and the provider is refusing it.",
            )
        case Symptom.CONNECT_TIMEOUT:
            return (
                f"Nothing answered the connection to {host} port {port} within the time allowed: "
                f"a firewall drops connections to port {port} somewhere on the way (a closed "
                "port would have refused at once).",
                f"Try {_other_ports(port)}. If every port times out, the network this runs on "
                f"blocks outgoing mail (ask its administrator), or {host} is not the provider's "
                "address.",
            )
        case Symptom.TLS_ON_PLAIN_PORT:
            return (
                f"The security is set to TLS (encrypted from the first byte), but port {port} "
                f"talks plain SMTP and expects STARTTLS{detail}.",
                f"Set the security to STARTTLS for port {port}, or keep TLS and use port 465.",
            )
        case Symptom.PLAIN_ON_TLS_PORT:
            return (
                f"Port {port} expects TLS from the first byte (implicit TLS), but the connection "
                "was set up for plain SMTP or STARTTLS, so the server waited for a TLS handshake "
                "and never sent its greeting.",
                f"Set the security to TLS for port {port}, or keep STARTTLS and use port 587.",
            )
        case Symptom.TLS_CERTIFICATE_UNTRUSTED:
            return (
                f"The certificate {host} presented is not trusted{detail}: it is self-signed, "
                "expired, or signed by an authority this machine does not know.",
                f"Use the provider's official host name (its certificate is trusted), not an IP "
                f"address or an alias; if {host} is your own server, install a certificate from a "
                "public authority.",
            )
        case Symptom.TLS_HOSTNAME_MISMATCH if _is_address(host):
            return (
                f"The certificate the server presented is valid, but not for the IP address "
                f"{host}{detail}: certificates name host names, so a connection made to an "
                "address cannot match one.",
                "Enter the provider's host name, exactly as its documentation gives it, instead "
                "of the IP address.",
            )
        case Symptom.TLS_HOSTNAME_MISMATCH:
            return (
                f"The certificate the server presented is valid, but not for {host}{detail}.",
                "Enter the host name exactly as the provider documents it; an alias or a CNAME "
                "of your own does not match the provider's certificate.",
            )
        case Symptom.STARTTLS_UNAVAILABLE:
            return (
                f"The security is set to STARTTLS, but {who} did not offer STARTTLS on port "
                f"{port}.{said}",
                "Use the port the provider documents for STARTTLS (usually 587), or TLS on 465.",
            )
        case Symptom.STARTTLS_REQUIRED:
            return (
                f"{who[0].upper() + who[1:]} requires an encrypted session (STARTTLS) before login "
                f"or sending, and the security is set to none.{said}",
                f"Set the security to STARTTLS for port {port}.",
            )
        case Symptom.AUTH_UNAVAILABLE:
            return (
                f"{who[0].upper() + who[1:]} did not offer a login (AUTH) method this tool speaks "
                f"on port {port}.{said}",
                "Check host and port: a provider's submission port (587 or 465) offers login; "
                "port 25 on many servers does not.",
            )
        case Symptom.AUTH_FAILED:
            temporary = (
                " The error is temporary, so try again later." if reply and reply.temporary else ""
            )
            return (
                f"{who[0].upper() + who[1:]} refused the login.{said}{temporary}",
                f"Copy the SMTP user name and password again from {who if provider else 'the provider'}'s "
                "SMTP settings (not the account login); watch for a trailing space.",
            )
        case Symptom.AUTH_REQUIRED:
            return (
                f"{who[0].upper() + who[1:]} only sends mail for logged-in users, and no login was "
                f"made.{said}",
                "Enter the SMTP user name and password (or API key) from the provider.",
            )
        case Symptom.SENDER_REJECTED:
            return (
                f"{who[0].upper() + who[1:]} refused the sender address {settings.from_address}.{said}",
                "Send from an address or domain that is verified with the provider.",
            )
        case Symptom.RECIPIENT_REJECTED:
            accepted = failure.accepted_recipients
            others = ", ".join(accepted)
            part = (
                f" The other recipient ({others}) was accepted and got the message."
                if len(accepted) == 1
                else f" The other recipients ({others}) were accepted and got the message."
                if accepted
                else ""
            )
            return (
                f"{who[0].upper() + who[1:]} refused the recipient.{said}{part}",
                "Check the recipient address; if it is right, the provider's account may be "
                "limited to verified recipients.",
            )
        case Symptom.MESSAGE_REJECTED:
            return (
                f"{who[0].upper() + who[1:]} accepted the sender and recipients but refused the "
                f"message itself.{said}",
                "Read the reply: it usually names the policy (an unverified sender, content or "
                "a sending limit) to fix with the provider.",
            )
        case Symptom.SERVER_DISCONNECTED:
            return (
                f"{who[0].upper() + who[1:]} closed the connection {_DURING[failure.stage]}"
                f"{colon}.",
                "Try again; if it keeps happening at the same step, the provider is dropping the "
                "session on purpose (a block, a limit or a TLS setting): check its dashboard.",
            )
        case Symptom.TIMEOUT if failure.stage is Stage.BANNER:
            why = (
                "On port 25 this is what interception looks like: the network this runs on takes "
                "over outgoing port 25 and holds the connection without passing it on."
                if port == 25
                else "A firewall or proxy on the way is probably holding the connection without "
                "passing it on (some intercept mail ports), or the server is overloaded."
            )
            return (
                f"{who[0].upper() + who[1:]} at {host} accepted the connection on port {port} but "
                f"never sent its greeting. {why}",
                f"Try {_other_ports(port)}; if that stalls the same way, ask the network's "
                "administrator whether a firewall or proxy intercepts outgoing mail.",
            )
        case Symptom.TIMEOUT:
            return (
                f"{who[0].upper() + who[1:]} stopped answering {_DURING[failure.stage]}{colon}.",
                "Check host and port against the provider's documentation; if they are right, "
                "try again later or with a longer timeout.",
            )
    raise AssertionError(symptom)  # pragma: no cover - every symptom is handled above


def _other_ports(port: int) -> str:
    """The submission ports to try instead of `port`, with the security each one takes."""
    if port == 587:
        return "port 465 with TLS (or 2525 with STARTTLS, where the provider offers it)"
    if port in IMPLICIT_TLS_PORTS:
        return "port 587 with STARTTLS"
    return "port 587 with STARTTLS (or 465 with TLS)"


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _hint_words(
    hint: Hint, settings: SmtpSettings, provider: ProviderLike | None
) -> tuple[str, str]:
    """(why, fix) for one hint; the fix replaces the generic one, being more exact."""
    match hint:
        case Hint.PORT_25_BLOCKED:
            return (
                "Port 25 is blocked by most cloud and home networks to stop spam.",
                "Change the port to 587 with STARTTLS (or 465 with TLS).",
            )
        case Hint.SES_IAM_KEY_USED:
            return (
                "The password does not look like an SES SMTP password (44 characters): it is "
                "probably the IAM secret access key, which SES does not accept for SMTP.",
                "In the Amazon SES console, open SMTP settings, create SMTP credentials for the "
                "region in the host name, and use that SMTP user name and password.",
            )
        case Hint.SES_SANDBOX_UNVERIFIED:
            return (
                "Amazon SES only sends from verified identities, and while the account is in the "
                "sandbox also only to verified recipients; the identity may also be verified in "
                "another region than the host's.",
                "Verify the sender address or domain in the SES console for this region, and "
                "request production access to send to anyone.",
            )
        case Hint.SENDGRID_USERNAME_NOT_APIKEY:
            return (
                f"SendGrid's SMTP user name is the literal word apikey, not {settings.username!r}.",
                "Set the user name to apikey and the password to a SendGrid API key (SG....).",
            )
        case Hint.SENDGRID_SENDER_IDENTITY:
            return (
                "SendGrid only sends from a verified Sender Identity.",
                "In SendGrid, verify the From address (Single Sender) or authenticate the whole "
                "domain (Settings > Sender Authentication).",
            )
        case Hint.MAILGUN_SANDBOX:
            return (
                "Mailgun sandbox domains only send to authorized recipients.",
                "Add and verify your own sending domain in Mailgun and use its SMTP credentials, or "
                "add this recipient to the sandbox's authorized recipients.",
            )
        case Hint.MICROSOFT_SMTP_AUTH_DISABLED:
            return (
                "Microsoft 365 has SMTP login (SMTP AUTH) turned off for this tenant or mailbox.",
                "In the Microsoft 365 admin center, enable Authenticated SMTP for this mailbox "
                "(and allow it for the tenant), then test again.",
            )
        case Hint.GMAIL_APP_PASSWORD:
            return (
                "Google does not accept the normal account password for SMTP.",
                "Turn on 2-Step Verification for the Google account, create an App Password and "
                "use it as the SMTP password.",
            )
    raise AssertionError(hint)  # pragma: no cover
