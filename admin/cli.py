"""The admin command line: local users of the desk, the key of its saved passwords, and the report
mailbox.

    python -m admin users add NAME --role admin|support|analyst [--password-env VAR]
    python -m admin users list [--json]
    python -m admin users disable NAME          (and `enable NAME`)
    python -m admin users set-role NAME ROLE
    python -m admin users set-password NAME [--password-env VAR]
    python -m admin secrets rotate [--old-key-env VAR] [--new-key-env VAR]
    python -m admin users unbind-oidc NAME      (forget the identity provider account bound)
    python -m admin accounts show NAME [--json] (the account's one diagnosis, admin.diagnosis)
    python -m admin intake show|check [--json]  (the report mailbox: admin/_intake_commands.py)
    python -m admin queue [--json] [--plan P] [--kind K] [--provider KEY]   (admin._cli_queue)
    python -m admin queue refresh [--all]
    python -m admin alerts run [--json] [--no-refresh]  /  alerts history [--json] [--active]

The database and its key are the app's: main() reads the same configuration as the app
(diagnostics.config: DATABASE_URL, DESK_DATA_DIR, DESK_SECRET_KEY, DESK_SECRET_KEY_FILE, ...) once,
and a malformed variable is a usage error (exit 2) naming it. A password is asked twice with
getpass, or read from the environment variable named by --password-env (for automation); it is
never an argument, so it never lands in shell history or the process list. The keys of `secrets
rotate` come from environment variables alone (DESK_SECRET_KEY_OLD, or the one --old-key-env names;
the configuration's DESK_SECRET_KEY, or the one --new-key-env names). Everything printed is
scrubbed of those secrets (diagnostics.cli.output). The audit log names `cli:<login name>`.

Exit codes, as in diagnostics' CLI: 0 done, 1 refused (no such user, the last admin, ...),
2 usage error, a key that does not read the saved passwords, or the database cannot be reached.
One plain line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from admin._cli_queue import add_commands as add_queue_commands
from admin._diagnosis_text import as_text
from admin._intake_commands import add_intake_commands
from admin.diagnosis import diagnose_account
from admin.errors import AdminError, AdminInputError, SecretKeyError, StoreUnavailable
from admin.records import User
from admin.secrets import KEY_ENV
from admin.store import Store
from diagnostics.cli.output import scrubbed_output, secrets_in_play
from diagnostics.config import ConfigError, DeskConfig
from diagnostics.dmarc import ReportStore
from diagnostics.errors import DiagnosticsError
from diagnostics.redaction import Login
from diagnostics.secret import Secret

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
OLD_KEY_ENV = "DESK_SECRET_KEY_OLD"


class UsageError(Exception):
    """Bad input found before the store was asked anything."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No abbreviations: `--password SECRET` must not be taken for `--password-env SECRET`.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse repeats unrecognised arguments; one may be a password typed by mistake.
        if message.startswith("unrecognized arguments"):
            message = "unrecognized arguments (not repeated, in case one is a password)"
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m admin",
        description=(
            "Manage the desk's local users and secret key; show an account's diagnosis, the "
            "report mailbox, the support queue and alerts."
        ),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    users = commands.add_parser("users", help="add, list, disable users; change a role")
    actions = users.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)

    add = actions.add_parser("add", help="add a user (the password is asked twice)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["admin", "support", "analyst"])
    add.add_argument("--password-env", metavar="VAR", help="read the password from $VAR")
    add.set_defaults(handler=_add)

    listing = actions.add_parser("list", help="list users, their role and last sign-in")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_list)

    for verb, handler in (("disable", _disable), ("enable", _enable)):
        one = actions.add_parser(verb, help=f"{verb} a user (disabling ends their sessions)")
        one.add_argument("name")
        one.set_defaults(handler=handler)

    role = actions.add_parser("set-role", help="change a user's role")
    role.add_argument("name")
    role.add_argument("role", choices=["admin", "support", "analyst"])
    role.set_defaults(handler=_set_role)

    password = actions.add_parser("set-password", help="set a new password (ends sessions)")
    password.add_argument("name")
    password.add_argument("--password-env", metavar="VAR", help="read the password from $VAR")
    password.set_defaults(handler=_set_password)

    unbind = actions.add_parser(
        "unbind-oidc",
        help="forget the identity provider account a user is bound to (the next OIDC sign-in "
        "binds again)",
    )
    unbind.add_argument("name")
    unbind.set_defaults(handler=_unbind_oidc)

    accounts = commands.add_parser("accounts", help="an account's one diagnosis")
    account_actions = accounts.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    show = account_actions.add_parser(
        "show",
        help="why the account's mail fails and what to change: route, connections, DNS, reports",
        description="The account's one diagnosis, as the Overview shows it: how its mail goes "
        "out, each connection's settings and latest test, what to fix first, its domain's SPF, "
        "DKIM, DMARC and MX, the records to publish and what its DMARC reports say. DNS is asked "
        "as the app asks it (DESK_NAMESERVER, DESK_DNS_TIMEOUT).",
    )
    show.add_argument("name", help="the account's name (or its number)")
    show.add_argument("--json", action="store_true", help="print JSON, with codes")
    show.set_defaults(handler=_show_account)

    secrets = commands.add_parser("secrets", help="the key that encrypts saved SMTP passwords")
    key_actions = secrets.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    rotate = key_actions.add_parser(
        "rotate",
        help="re-encrypt every saved password under a new key, all or nothing",
        description="Re-encrypt every saved SMTP password from the old key to the new one, in one "
        "transaction. The keys are read from environment variables, never from the command line.",
    )
    rotate.add_argument(
        "--old-key-env",
        metavar="VAR",
        default=OLD_KEY_ENV,
        help=f"the variable holding the key the passwords are saved with (default {OLD_KEY_ENV})",
    )
    rotate.add_argument(
        "--new-key-env",
        metavar="VAR",
        help=f"the variable holding the new key (default {KEY_ENV}, as the desk reads it)",
    )
    # The store opens with the old key: the one the database is under until the rotation commits.
    rotate.set_defaults(handler=_rotate, store_key=_old_key)
    add_intake_commands(commands, _actor)
    # The support queue and alerts (issue 16): admin._cli_queue.
    add_queue_commands(commands, _Parser)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    store: Store | None = None,
    config: DeskConfig | None = None,
) -> int:
    """Run one command. The configuration is read from the environment once, here, unless a
    caller (a test) gives `config`; `store` opens a database of the caller's instead of the
    configuration's."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[Store, argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    if config is None:
        try:
            config = DeskConfig.from_env(os.environ)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    args.config = config
    with scrubbed_output(_secrets_in_play(args, config)):
        try:
            if store is not None:
                return handler(store, args)
            with _open_store(args, config) as opened:
                return handler(opened, args)
        except (
            UsageError,
            AdminInputError,
            SecretKeyError,
            StoreUnavailable,
            DiagnosticsError,
        ) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except AdminError as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        except (KeyboardInterrupt, EOFError):
            print("interrupted", file=sys.stderr)
            return EXIT_USAGE


def _open_store(args: argparse.Namespace, config: DeskConfig) -> Store:
    """The app's database, with the key the command opens it with (`store_key`), else the app's."""
    store_key: Callable[[argparse.Namespace], Secret] | None = getattr(args, "store_key", None)
    if store_key is None:
        return Store.from_config(config)
    key = store_key(args)
    # The store warns on stderr when its key is not the database's. A rotation run again after it
    # finished opens with the old key, which no longer is, and says itself what it found.
    quiet = logging.getLogger("admin.store")
    was, quiet.disabled = quiet.disabled, True
    try:
        return Store.from_config(config, secret_key=key)
    finally:
        quiet.disabled = was


def _secrets_in_play(args: argparse.Namespace, config: DeskConfig) -> list[Login]:
    """What the output must never show: every `--*-env` variable's value, and the desk's own key."""
    found = secrets_in_play(args)
    if config.secret_key:
        found.append(config.secret_key)
    return found


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli"


def _from_env(option: str, name: str) -> Secret:
    """The secret in the environment variable `name`, given with `option`."""
    if not _ENV_NAME.match(name):
        # Not repeated: it may be the secret itself, given by mistake.
        raise UsageError(f"{option} takes the name of an environment variable.")
    value = os.environ.get(name, "")
    if not value:
        raise UsageError(f"The environment variable {name} is not set or empty.")
    return Secret(value)


def _password(args: argparse.Namespace) -> Secret:
    if args.password_env:
        return _from_env("--password-env", args.password_env)
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise UsageError("The two passwords differ; nothing was changed.")
    return Secret(first)


def _add(store: Store, args: argparse.Namespace) -> int:
    user = store.users.add_user(args.name, args.role, _password(args), actor=_actor())
    print(f"Added {user.name} ({user.role.value}).")
    return EXIT_OK


def _list(store: Store, args: argparse.Namespace) -> int:
    users = store.users.list_users(actor=_actor())
    if args.json:
        print(json.dumps([_as_dict(u) for u in users], indent=2))
        return EXIT_OK
    if not users:
        print("No users yet: add one with `python -m admin users add NAME --role admin`.")
    for u in users:
        status = "disabled" if u.disabled else "enabled"
        last = f"{u.last_sign_in_at:%Y-%m-%d %H:%M} UTC" if u.last_sign_in_at else "never"
        bound = "  (bound to an identity provider account)" if u.oidc_subject else ""
        print(f"{u.name:<24} {u.role.value:<8} {status:<9} last sign-in: {last}{bound}")
    return EXIT_OK


def _disable(store: Store, args: argparse.Namespace) -> int:
    user = store.users.set_disabled(args.name, True, actor=_actor())
    print(f"Disabled {user.name}; their sessions have ended.")
    return EXIT_OK


def _enable(store: Store, args: argparse.Namespace) -> int:
    user = store.users.set_disabled(args.name, False, actor=_actor())
    print(f"Enabled {user.name}.")
    return EXIT_OK


def _set_role(store: Store, args: argparse.Namespace) -> int:
    user = store.users.set_role(args.name, args.role, actor=_actor())
    print(f"{user.name} is now {user.role.value}.")
    return EXIT_OK


def _set_password(store: Store, args: argparse.Namespace) -> int:
    user = store.users.set_password(args.name, _password(args), actor=_actor())
    print(f"Set a new password for {user.name}; their sessions have ended.")
    return EXIT_OK


def _old_key(args: argparse.Namespace) -> Secret:
    return _from_env("--old-key-env", args.old_key_env)


def _new_key(args: argparse.Namespace) -> Secret:
    """The key to move to: the variable --new-key-env names, else the desk's DESK_SECRET_KEY."""
    if args.new_key_env:
        return _from_env("--new-key-env", args.new_key_env)
    config: DeskConfig = args.config
    if not config.secret_key:
        raise UsageError(f"The environment variable {KEY_ENV} is not set or empty.")
    return config.secret_key


def _rotate(store: Store, args: argparse.Namespace) -> int:
    new = _new_key(args)
    done = store.rotate_key(_old_key(args), new, actor=_actor())
    print(done.summary())
    print(
        "Switch the desk to the new key now (README: Rotating the secret key): the old key no "
        "longer reads the saved passwords."
    )
    return EXIT_OK


def _show_account(store: Store, args: argparse.Namespace) -> int:
    config: DeskConfig = args.config
    reports = ReportStore.from_config(config)
    try:
        found = diagnose_account(
            store,
            args.name,
            report_store=reports,
            resolver=config.dns.resolver(),
            config=config,
        )
    finally:
        reports.close()
    if args.json:
        print(json.dumps(found.to_json(), indent=2))
    else:
        print("\n".join(as_text(found)).rstrip())
    return EXIT_OK


def _unbind_oidc(store: Store, args: argparse.Namespace) -> int:
    before = store.users.get_user(args.name, actor=_actor())
    user = store.users.unbind_oidc(args.name, actor=_actor())
    if before.oidc_subject is None:
        print(f"{user.name} was not bound to an identity provider account; nothing changed.")
    else:
        print(
            f"{user.name} is no longer bound to an identity provider account: their next "
            "sign-in through the identity provider binds them again."
        )
    return EXIT_OK


def _as_dict(user: User) -> dict[str, object]:
    return {
        "name": user.name,
        "role": user.role.value,
        "disabled": user.disabled,
        "created_at": user.created_at.isoformat(),
        "last_sign_in_at": user.last_sign_in_at.isoformat() if user.last_sign_in_at else None,
        "oidc_issuer": user.oidc_issuer,
        "oidc_subject": user.oidc_subject,
    }
