"""Moving every saved secret to a new key, in one transaction: all of them or none.

    python -m admin secrets rotate      (admin.cli; both keys come from environment variables)
    store.rotate_key(old_key, new_key)  (admin.store.Store, which runs `rotate` below)

Secrets are stored as ``fernet:<key id>:<token>`` (admin.secrets). A rotation reads each one in turn:
under the old key, it is decrypted and encrypted again under the new one; already under the new key
(a rotation run twice, or after a new password was saved), it is checked and left as it is, and
counted; under any other key, or damaged, it is a problem. Problems are collected over every secret
and then refuse the whole rotation: the transaction is rolled back, so the database never holds
secrets under two keys, and the message names the connections (never a secret) so they can be
re-entered. The report mailbox's password (admin.intake) moves with the SMTP passwords. On success
the database's key id (desk_meta) moves to the new key, and the store adds one audit entry in the
same transaction with the counts and both key ids, never a key.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from admin.errors import SecretKeyError
from admin.models import AccountRow, AlertChannelRow, ConnectionRow, IntakeMailboxRow, MetaRow
from admin.secrets import SecretBox
from diagnostics.wording import plural

# The desk_meta row naming the key that encrypts this database's secrets (admin.store reads it).
KEY_ID_META = "secret_key_id"
# How many problem connections a refusal names; the count says how many more there are.
_NAMED = 10


@dataclass(frozen=True, slots=True)
class KeyRotation:
    """What a rotation did: counts and key ids only."""

    old_key_id: str
    new_key_id: str
    reencrypted: int  # moved from the old key to the new one
    already: int  # already under the new key, left as they were

    @property
    def total(self) -> int:
        return self.reencrypted + self.already

    def summary(self) -> str:
        """One sentence for the audit log and the command line: counts only."""
        moved = plural(self.reencrypted, "saved password")
        kept = (
            f"; {self.already} {'was' if self.already == 1 else 'were'} already under it"
            if self.already
            else ""
        )
        return f"Re-encrypted {moved} under the new secret key{kept}."

    def audit_facts(self) -> dict[str, object]:
        return {
            "old_key_id": self.old_key_id,
            "new_key_id": self.new_key_id,
            "reencrypted": self.reencrypted,
            "already": self.already,
        }


def rotate(s: Session, old: SecretBox, new: SecretBox) -> KeyRotation:
    """Move every secret from `old` to `new` within `s`, a write transaction the caller commits.
    Raises SecretKeyError, with nothing written that the caller's rollback does not undo, when a
    secret cannot be read with either key."""
    # Every account first, then the connections: the store's locking order, so a concurrent change
    # to an account waits for the rotation (and then finds the new key id in desk_meta).
    s.execute(select(AccountRow.id).order_by(AccountRow.id).with_for_update()).all()
    connections = s.scalars(
        select(ConnectionRow).order_by(ConnectionRow.id).with_for_update()
    ).all()
    # The report mailbox's password (admin.intake) is a saved password too.
    mailboxes = s.scalars(select(IntakeMailboxRow).with_for_update()).all()
    # And where alerts go (admin.alerts): the alert e-mail's password, the webhook's URL and key.
    channels = s.scalars(select(AlertChannelRow).with_for_update()).all()
    secrets: list[ConnectionRow | IntakeMailboxRow | AlertChannelRow] = [
        *connections,
        *mailboxes,
        *channels,
    ]
    problems: list[str] = []
    moved = already = 0
    for row in secrets:
        stored_id = _key_id_of(row.password_encrypted)
        box = new if stored_id == new.key_id else old
        try:
            password = box.decrypt(row.password_encrypted)
        except SecretKeyError as exc:
            problems.append(f"{_name(row)}: {_why(exc, stored_id, old)}")
            continue
        if box is new:
            already += 1
            continue
        # updated_at stays: the settings did not change, and it orders the fallback connection.
        row.password_encrypted = new.encrypt(password)
        s.flush()  # written now, inside the transaction; a later problem rolls it back
        moved += 1
    if problems:
        raise SecretKeyError(_refusal(problems, len(secrets)))
    meta = s.get(MetaRow, KEY_ID_META)
    if meta is None:
        s.add(MetaRow(key=KEY_ID_META, value=new.key_id))
    else:
        meta.value = new.key_id
    return KeyRotation(old.key_id, new.key_id, moved, already)


def _key_id_of(stored: str) -> str:
    _, _, rest = stored.partition(":")
    return rest.partition(":")[0]


def _name(row: ConnectionRow | IntakeMailboxRow | AlertChannelRow) -> str:
    if isinstance(row, IntakeMailboxRow):
        return f"the report mailbox {row.username}@{row.host}"
    if isinstance(row, AlertChannelRow):
        return f"the alert {row.channel} settings"
    return f"connection {row.id} “{row.label}” of account {row.account_id}"


def _why(exc: SecretKeyError, stored_id: str, old: SecretBox) -> str:
    if stored_id == old.key_id:
        return "damaged (it does not verify with the old key it was saved with)"
    if stored_id:
        return "saved under another key than the old one"
    return str(exc)


def _refusal(problems: list[str], total: int) -> str:
    named = "; ".join(problems[:_NAMED])
    more = f"; and {len(problems) - _NAMED} more" if len(problems) > _NAMED else ""
    return (
        f"{plural(len(problems), 'saved password')} of {total} cannot be read with the old key, "
        f"so nothing was changed: {named}{more}. Check that the old key is the one the desk runs "
        "with, or re-enter those passwords, then rotate again."
    )
