"""A wrapper that keeps a secret out of every repr, str, log line and traceback.

The value is reachable only through `reveal()`, so an accidental f-string, logging call or exception
message shows `Secret('********')` instead of a password or an API key.
"""

from __future__ import annotations

import hmac
from typing import Any


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        object.__setattr__(self, "_value", str(value))

    def reveal(self) -> str:
        """The secret itself: only for the code that must send or encrypt it."""
        value: str = object.__getattribute__(self, "_value")
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Secret is immutable")

    def __repr__(self) -> str:
        return "Secret('********')" if self.reveal() else "Secret('')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self.reveal())

    def __len__(self) -> int:
        return len(self.reveal())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self.reveal().encode(), other.reveal().encode())

    def __hash__(self) -> int:
        return hash(("Secret", len(self.reveal())))

    def __reduce__(self) -> Any:
        # Pickling would write the value out in clear; nothing here needs it.
        raise TypeError("a Secret cannot be pickled")

    def hint(self) -> str:
        """What a page may show after saving: "set, ends in …1234" (or "not set")."""
        value = self.reveal()
        if not value:
            return "not set"
        if len(value) < 12:
            return "set"
        return f"set, ends in …{value[-4:]}"
