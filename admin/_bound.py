"""What the store's parts that act for a principal share (the support queue, the alerts): the
store's transactions, the principal it is bound to, and the role check of each call."""

from __future__ import annotations

from admin._transactions import Transactions
from admin.access import Actor, Permission, Principal, resolve


class BoundPart:
    """A part of the store made per call of its property (`Store.queue`, `Store.alerts`)."""

    def __init__(self, tx: Transactions, *, bound: Principal | None) -> None:
        self._tx = tx
        self._bound = bound

    def _allow(self, actor: Actor, permission: Permission) -> Principal:
        """Who acts (the bound user, whatever name is passed), once their role allows it."""
        who = resolve(actor, self._bound)
        who.require(permission)
        return who
