"""Sign-in through OpenID Connect (DESK_AUTH=oidc): st.login with Authlib, the provider's verified
e-mail address as a desk user's name, which gives the role.

Which claims make a desk user is admin.oidc's (a verified, plain ASCII address; an issuer trusted by
name in DESK_OIDC_TRUSTED_ISSUERS may leave `email_verified` out); the binding of each user to the
provider's account (iss, sub) at the first sign-in is admin.users'. Everything the provider sent is
shown as text, never as Markdown.

The audit log gets each sign-in once (by the identity token's issue time, whatever the reloads and
tabs that show the same identity cookie) and each sign-out, like local users'. A desk session lasts
no longer than a local user's (DESK_SESSION_MAX_HOURS), counted from the sign-in at the provider.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import NoReturn

import streamlit as st
from streamlit.errors import StreamlitAuthError

from admin import Principal, Store, StoreUnavailable
from admin.oidc import OidcPolicy, OidcRefusal, oidc_identity, shown_address
from admin.records import AuditAction
from admin.signin import SessionPolicy
from admin.authentication import OidcOutcome
from desk.standalone_screens import only_screen, show_outcome, tell_outcome

log = logging.getLogger(__name__)

# Which OIDC sign-in (user and token issue time, no secret) this browser session has audited.
_AUDITED_KEY = "desk_oidc_sign_in_audited"
# How far back a new browser session looks for its OIDC sign-in's entry before writing one.
_AUDIT_LOOKBACK = 200
# What Markdown and Streamlit's own markup act on inside a line (links, images, emphasis, code,
# HTML, :color[...] and :icons:, $math$). . - + are left as they are: at the start of a message
# they could at worst make a list, never a link or an image, and addresses are full of them.
_MARKUP = frozenset("\\`*_{}[]()<>#!|:$~&")


def oidc_user(store: Store, url_paths: Sequence[str]) -> Principal:
    # .get: st.user has no is_logged_in at all until an [auth] section configures a provider.
    if not st.user.get("is_logged_in", False):
        only_screen(lambda: _provider_sign_in_page(None), url_paths)
    found = oidc_identity(st.user, OidcPolicy.from_env())
    if isinstance(found, OidcRefusal):
        _refuse(store, _as_text(found.message), found.shown, found.reason_words, url_paths)
    signed = store.users.oidc_principal(found)
    email = shown_address(found.email)
    if signed.outcome is OidcOutcome.DISABLED:
        _refuse(
            store,
            f"{_as_text(email)} is disabled on the desk: ask an admin to enable it "
            "(`python -m admin users enable EMAIL`).",
            email,
            "the user is disabled",
            url_paths,
        )
    if signed.outcome is OidcOutcome.OTHER_ACCOUNT:
        # The address is the desk user's, but the account is not the one that first signed in as
        # them: a new account at the provider, or someone else's that claims the address.
        _refuse(
            store,
            f"{_as_text(email)} signs in to the desk through another account at the identity "
            "provider, so the desk cannot tell this one is theirs. If their account has changed, "
            "an admin can clear the old one (`python -m admin users unbind-oidc EMAIL`).",
            email,
            "the desk user is bound to another account at the identity provider",
            url_paths,
            {"issuer": found.issuer, "subject": found.subject},  # the account refused
        )
    principal = signed.principal
    if principal is None:
        _refuse(
            store,
            f"{_as_text(email)} has no access to the desk yet: ask an admin to add it "
            "(`python -m admin users add EMAIL --role ROLE`).",
            email,
            "no desk user has this address",
            url_paths,
        )
    issued_at = _issued_at()
    # Streamlit's identity cookie lasts 30 days; a desk session no longer than a local user's
    # (DESK_SESSION_MAX_HOURS), counted from the sign-in at the provider. A token without iat
    # cannot be timed: Authlib refuses such tokens at the callback already.
    if (
        issued_at is not None
        and time.time() - issued_at > SessionPolicy.from_env().absolute.total_seconds()
    ):
        _audit_once(
            store,
            principal,
            AuditAction.SESSION_EXPIRED,
            f"The session of {principal.name} expired.",
            issued_at,
        )
        only_screen(
            lambda: _provider_sign_in_page("Your session has expired: sign in again."), url_paths
        )
    _audit_once(
        store,
        principal,
        AuditAction.SIGNED_IN,
        f"{principal.name} signed in ({principal.role.value}) through the identity provider.",
        issued_at,
    )
    return principal


def _refuse(
    store: Store,
    message: str,
    email: str | None,
    reason: str,
    url_paths: Sequence[str],
    facts: dict[str, str] | None = None,
) -> NoReturn:
    """The refusal (Markdown, anything from the provider escaped) as the only screen, and once in
    the audit log (as a local failed sign-in is), with `facts` about the refused account."""
    _audit_once(
        store,
        email or "(no address)",
        AuditAction.SIGN_IN_FAILED,
        f"Failed sign-in through the identity provider as {email or 'an account without an address'}"
        f": {reason}.",
        _issued_at(),
        facts,
    )
    only_screen(lambda: _no_access(message), url_paths)


def _provider_sign_in_page(notice: str | None) -> None:
    st.title("Deliverability desk")
    if notice:
        st.info(notice, icon=":material/schedule:")
    st.button(
        "Sign in with your identity provider", type="primary", on_click=_start_provider_sign_in
    )
    show_outcome()


def _start_provider_sign_in() -> None:
    try:
        st.login()
    except StreamlitAuthError as exc:
        # No or an incomplete [auth] section: Streamlit names the missing keys (never a value).
        # Said under the button instead of Streamlit's redacted "This app has encountered an error".
        log.warning("OIDC sign-in is not set up: %s", " ".join(str(exc).split()))
        tell_outcome(
            "Sign-in through the identity provider is not set up on this server: "
            + " ".join(str(exc).split())
            + " (README, Users and sign-in)."
        )


def _as_text(text: str) -> str:
    """`text` (from the provider) as literal text inside a Markdown message: each character
    Markdown or Streamlit's own markup (:color[...], $math$) would act on is escaped."""
    return "".join(f"\\{c}" if c in _MARKUP else c for c in text)


def _no_access(message: str) -> None:
    st.title("Deliverability desk")
    st.error(message, icon=":material/block:")
    st.button("Sign out", on_click=st.logout)


def _issued_at() -> int | None:
    """The ID token's issue time (`iat`, seconds since 1970), which the identity cookie keeps."""
    # st.user is typed as text and flags, but the cookie keeps the token's claims as JSON: a number.
    issued: object = st.user.get("iat")
    return issued if isinstance(issued, int) and not isinstance(issued, bool) else None


def _audit_once(
    store: Store,
    actor: Principal | str,
    action: AuditAction,
    summary: str,
    issued_at: int | None,
    facts: dict[str, str] | None = None,
) -> None:
    """One entry per sign-in at the provider. Streamlit keeps the identity in a cookie, so every
    reload or new tab is a new browser session showing the same sign-in: it is known by the ID
    token's issue time, kept in the entry, and looked for before writing again."""
    name = actor.name if isinstance(actor, Principal) else actor
    marker = f"{action} {name} {issued_at}"
    if st.session_state.get(_AUDITED_KEY) == marker:
        return
    after = {"via": "openid connect", "token_issued_at": issued_at, **(facts or {})}
    already = issued_at is not None and any(
        entry.action is action and entry.actor == name and entry.after == after
        for entry in store.audit_log(limit=_AUDIT_LOOKBACK)
    )
    if not already:
        store.audit_event(action, summary, after=after, actor=actor)
    st.session_state[_AUDITED_KEY] = marker


def oidc_sign_out(store: Store, user: Principal) -> None:
    """The identity cookie is the session: st.logout removes it (and asks the provider to end its
    own); the desk has no session row to end, so the audit entry is written here."""
    try:
        store.audit_event(AuditAction.SIGNED_OUT, f"{user.name} signed out.", actor=user)
    except StoreUnavailable:
        # Signing out must work with the database down: only the audit entry is lost, and said.
        log.warning(
            "the sign-out of %s is not in the audit log: the database did not answer", user.name
        )
    st.session_state.pop(_AUDITED_KEY, None)
    st.logout()


__all__ = ["oidc_sign_out", "oidc_user"]
