"""The rules of an OpenID Connect sign-in, apart from Streamlit and the database: which identity
token claims make a person a desk user's name, and when the desk refuses them.

    policy = OidcPolicy.from_config(config.auth)      # DESK_OIDC_TRUSTED_ISSUERS
    found = oidc_identity(claims, policy)             # claims: what st.user holds
    if isinstance(found, OidcRefusal): ...            # found.reason, found.message, found.shown
    else: store.users.oidc_principal(found)           # binds the user to (iss, sub) the first time

An address becomes a desk user's name only when
- the token names its provider and account (`iss`, `sub`), which admin.users binds the user to at
  the first sign-in, so another account that later shows the same address is refused;
- it is plain ASCII, checked on the claim exactly as the provider sent it, before any case folding
  or trimming: "\u212aim@…" (a Kelvin sign) is another address at the provider, but lower-cased it
  reads "kim@…";
- the provider says it verified it (`email_verified` true, or "true" as text). A missing claim is
  refused too, since providers that let people type any address (self-registration, multi-tenant
  Entra ID: "nOAuth") send none. Unless the desk trusts the issuer by name: DESK_OIDC_TRUSTED_ISSUERS
  lists, comma-separated, the exact `iss` values whose addresses are the provider's own word (a
  single-tenant Entra ID, `https://login.microsoftonline.com/TENANT-ID/v2.0`). Even then an
  explicit "not verified" is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from diagnostics.config import AuthConfig

# OpenID Connect Core 1.0, 2: `sub` is at most 255 ASCII characters; an issuer is kept as long.
MAX_CLAIM = 255
_MAX_SHOWN = 200  # the longest address a refusal or the audit log names (admin.inputs.MAX_TEXT)


@dataclass(frozen=True, slots=True)
class OidcPolicy:
    trusted_issuers: frozenset[str] = frozenset()

    @classmethod
    def from_config(cls, auth: AuthConfig) -> OidcPolicy:
        """The issuers the configuration trusts by name (DESK_OIDC_TRUSTED_ISSUERS)."""
        return cls(auth.trusted_issuers)

    def trusts(self, issuer: str) -> bool:
        return issuer in self.trusted_issuers


@dataclass(frozen=True, slots=True)
class OidcIdentity:
    """Who the provider says signed in: the address (ASCII, as sent) and the account behind it."""

    email: str
    issuer: str
    subject: str


class RefusalReason(StrEnum):
    NO_ACCOUNT = "no_account"
    NO_ADDRESS = "no_address"
    NOT_ASCII = "not_ascii"
    UNVERIFIED = "unverified"


@dataclass(frozen=True, slots=True)
class OidcRefusal:
    """Why the claims make nobody a desk user. `shown`: the address as a refusal and the audit log
    may name it (`shown_address`), None when there is none. `message` is for the person, in plain
    text (no Markdown: a page escapes it as it escapes any text); `reason_words` for the audit log."""

    reason: RefusalReason
    shown: str | None

    @property
    def message(self) -> str:
        who = self.shown or "This account"
        match self.reason:
            case RefusalReason.NO_ACCOUNT:
                return (
                    "The identity provider's answer names no account (no iss or sub claim), so "
                    "the desk cannot tell who signed in."
                )
            case RefusalReason.NO_ADDRESS:
                return (
                    "The identity provider gave no e-mail address for this account, and a desk "
                    "user is known by theirs. Ask the provider's admin to share it (scope email)."
                )
            case RefusalReason.NOT_ASCII:
                return (
                    f"{who}: the address has letters outside plain ASCII, which can look like "
                    "another person's address. Desk users are plain ASCII addresses: sign in "
                    "with an account whose address is."
                )
            case RefusalReason.UNVERIFIED:
                return (
                    f"{who}: the identity provider has not said it verified this address, so the "
                    "desk cannot tell whose it is. Verify it with the provider, then sign in again."
                )

    @property
    def reason_words(self) -> str:
        return {
            RefusalReason.NO_ACCOUNT: "the token names no account (iss, sub)",
            RefusalReason.NO_ADDRESS: "the identity provider gave no address",
            RefusalReason.NOT_ASCII: "the address is not plain ASCII",
            RefusalReason.UNVERIFIED: "the identity provider has not verified the address",
        }[self.reason]


def oidc_identity(claims: Mapping[str, object], policy: OidcPolicy) -> OidcIdentity | OidcRefusal:
    """The identity in an ID token's `claims`, or why the desk refuses it (module docstring)."""
    raw = claims.get("email")
    email = raw if isinstance(raw, str) and raw.strip() else None
    if email is not None and not email.isascii():
        # Before anything else touches it: no folding, trimming or lookup of a look-alike.
        return OidcRefusal(RefusalReason.NOT_ASCII, shown_address(email))
    shown = shown_address(email) if email is not None else None
    issuer, subject = _account(claims.get("iss")), _account(claims.get("sub"))
    if issuer is None or subject is None:
        return OidcRefusal(RefusalReason.NO_ACCOUNT, shown)
    if email is None:
        return OidcRefusal(RefusalReason.NO_ADDRESS, None)
    verified = _verified(claims.get("email_verified"))
    if verified is False or (verified is None and not policy.trusts(issuer)):
        return OidcRefusal(RefusalReason.UNVERIFIED, shown)
    return OidcIdentity(email, issuer, subject)


def shown_address(email: str) -> str:
    """An address as a refusal or the audit log names it: anything outside printable ASCII as a
    \\u escape (a Kelvin sign reads \\u212a, never K), whitespace runs as one space, cut to 200."""
    escaped = "".join(c if " " <= c <= "~" else c.encode("unicode_escape").decode() for c in email)
    return " ".join(escaped.split())[:_MAX_SHOWN]


def _account(value: object) -> str | None:
    return value if isinstance(value, str) and value and len(value) <= MAX_CLAIM else None


def _verified(flag: object) -> bool | None:
    """True or False as the provider said it (a bool, or "true"/"false" as text); None when it
    said nothing, or nothing either way."""
    if isinstance(flag, bool):
        return flag
    if isinstance(flag, str):
        words = flag.strip().lower()
        if words in ("true", "false"):
            return words == "true"
    return None if flag is None else False


__all__ = [
    "MAX_CLAIM",
    "OidcIdentity",
    "OidcPolicy",
    "OidcRefusal",
    "RefusalReason",
    "oidc_identity",
    "shown_address",
]
