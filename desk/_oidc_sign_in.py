"""Sign-in through OpenID Connect (DESK_AUTH=oidc): st.login with Authlib, the provider's verified
e-mail address as a desk user's name, which gives the role.

Which claims make a desk user is admin.oidc's (a verified, plain ASCII address; an issuer trusted by
name in DESK_OIDC_TRUSTED_ISSUERS may leave `email_verified` out); the binding of each user to the
provider's account (iss, sub) at the first sign-in, and the audit of each sign-in once per sign-in at
the provider, are admin.authentication's. Everything the provider sent is shown as text, never as
Markdown (desk.markdown): an address in a refusal is not a live mailto: link.

A desk session lasts no longer than a local user's (DESK_SESSION_MAX_HOURS), counted from the
sign-in at the provider.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import NoReturn

import streamlit as st
from streamlit.errors import StreamlitAuthError

from admin import Principal, Store, StoreUnavailable
from admin.authentication import OidcOutcome
from admin.oidc import OidcPolicy, OidcRefusal, oidc_identity, shown_address
from admin.signin import SessionPolicy
from desk._standalone_screens import only_screen, show_outcome, tell_outcome
from desk.configuration import app_config
from desk.markdown import Markdown, md, text

log = logging.getLogger(__name__)

# Which OIDC sign-in (what, who and the token's issue time; no secret) this browser session has
# audited: its reruns ask the database no more (admin.authentication looks there once a session).
_AUDITED_KEY = "desk_oidc_sign_in_audited"


def oidc_user(store: Store, url_paths: Sequence[str]) -> Principal:
    # .get: st.user has no is_logged_in at all until an [auth] section configures a provider.
    if not st.user.get("is_logged_in", False):
        only_screen(lambda: _provider_sign_in_page(None), url_paths)
    issued_at = _issued_at()
    auth = app_config(url_paths).auth
    found = oidc_identity(st.user, OidcPolicy.from_config(auth))
    if isinstance(found, OidcRefusal):
        _refuse(store, text(found.message), found.shown, found.reason_words, issued_at, url_paths)
    signed = store.users.oidc_principal(found)
    email = shown_address(found.email)
    if signed.outcome is OidcOutcome.DISABLED:
        _refuse(
            store,
            md(
                "{email} is disabled on the desk: ask an admin to enable it "
                "(`python -m admin users enable EMAIL`).",
                email=email,
            ),
            email,
            "the user is disabled",
            issued_at,
            url_paths,
        )
    if signed.outcome is OidcOutcome.OTHER_ACCOUNT:
        # The address is the desk user's, but the account is not the one that first signed in as
        # them: a new account at the provider, or someone else's that claims the address.
        _refuse(
            store,
            md(
                "{email} signs in to the desk through another account at the identity provider, "
                "so the desk cannot tell this one is theirs. If their account has changed, an "
                "admin can clear the old one (`python -m admin users unbind-oidc EMAIL`).",
                email=email,
            ),
            email,
            "the desk user is bound to another account at the identity provider",
            issued_at,
            url_paths,
            {"issuer": found.issuer, "subject": found.subject},  # the account refused
        )
    principal = signed.principal
    if principal is None:
        _refuse(
            store,
            md(
                "{email} has no access to the desk yet: ask an admin to add it "
                "(`python -m admin users add EMAIL --role ROLE`).",
                email=email,
            ),
            email,
            "no desk user has this address",
            issued_at,
            url_paths,
        )
    # Streamlit's identity cookie lasts 30 days; a desk session no longer than a local user's
    # (DESK_SESSION_MAX_HOURS), counted from the sign-in at the provider. A token without iat
    # cannot be timed: Authlib refuses such tokens at the callback already.
    if (
        issued_at is not None
        and time.time() - issued_at > SessionPolicy.from_config(auth).absolute.total_seconds()
    ):
        _once_a_session(
            f"expired {principal.name} {issued_at}",
            lambda: store.users.audit_oidc_session_expired(principal, issued_at),
        )
        only_screen(
            lambda: _provider_sign_in_page("Your session has expired: sign in again."), url_paths
        )
    _once_a_session(
        f"signed_in {principal.name} {issued_at}",
        lambda: store.users.audit_oidc_sign_in(principal, issued_at),
    )
    return principal


def _refuse(
    store: Store,
    message: Markdown,
    email: str | None,
    reason: str,
    issued_at: int | None,
    url_paths: Sequence[str],
    facts: dict[str, str] | None = None,
) -> NoReturn:
    """The refusal (anything from the provider shown as text) as the only screen, and once in the
    audit log (as a local failed sign-in is), with `facts` about the refused account."""
    _once_a_session(
        f"refused {email} {issued_at} {sorted((facts or {}).items())}",
        lambda: store.users.audit_oidc_refusal(email, reason, issued_at, facts),
    )
    only_screen(lambda: _no_access(message), url_paths)


def _once_a_session(marker: str, audit: Callable[[], object]) -> None:
    """Run `audit` unless this browser session ran it for `marker` last (a rerun of the page)."""
    if st.session_state.get(_AUDITED_KEY) == marker:
        return
    audit()
    st.session_state[_AUDITED_KEY] = marker


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
            md(
                "Sign-in through the identity provider is not set up on this server: {why} "
                "(README, Users and sign-in).",
                why=" ".join(str(exc).split()),
            )
        )


def _no_access(message: Markdown) -> None:
    st.title("Deliverability desk")
    st.error(message, icon=":material/block:")
    st.button("Sign out", on_click=st.logout)


def _issued_at() -> int | None:
    """The ID token's issue time (`iat`, seconds since 1970), which the identity cookie keeps."""
    # st.user is typed as text and flags, but the cookie keeps the token's claims as JSON: a number.
    issued: object = st.user.get("iat")
    return issued if isinstance(issued, int) and not isinstance(issued, bool) else None


def oidc_sign_out(store: Store, user: Principal) -> None:
    """The identity cookie is the session: st.logout removes it (and asks the provider to end its
    own); the desk has no session row to end, so the audit entry is written here."""
    try:
        store.users.audit_oidc_sign_out(user)
    except StoreUnavailable:
        # Signing out must work with the database down: only the audit entry is lost, and said.
        log.warning(
            "the sign-out of %s is not in the audit log: the database did not answer", user.name
        )
    st.session_state.pop(_AUDITED_KEY, None)
    st.logout()


__all__ = ["oidc_sign_out", "oidc_user"]
