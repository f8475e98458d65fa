"""Reports that arrive by themselves: read from the rua= mailbox over IMAP, or received by the desk's
own SMTP/LMTP report address, and stored through the same code as uploads.

    check_mailbox(MailboxSettings.from_address("imap.example.com", ...), report_store)
    Watcher(settings, report_store).run()                     # IDLE, reconnects, until stop()
    await start_receiver(report_store, ["dmarc@reports.example.net"], host="0.0.0.0", port=25)
    rua_advice("example.com", ["dmarc@reports.example.net"])  # the rua= to publish, RFC 7489 7.1

What happens to each message is decided in one place (triage.py), whichever way it came: archived
or acknowledged only once its reports are committed, refused with the reason when it holds none.
"""

from diagnostics.intake.imap import (
    DEFAULT_MAX_MESSAGE_BYTES,
    ImapSecurity,
    MailboxSettings,
    Watcher,
    check_mailbox,
)
from diagnostics.intake.messages import InboundMessage, store_messages
from diagnostics.intake.retry import Backoff
from diagnostics.intake.triage import Disposition, MessageOutcome, Problem, RunCounts

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "Backoff",
    "Disposition",
    "ImapSecurity",
    "InboundMessage",
    "MailboxSettings",
    "MessageOutcome",
    "Problem",
    "RunCounts",
    "Watcher",
    "check_mailbox",
    "store_messages",
]
