"""Results as plain JSON-ready data, for `--json` output, downloads and storage.

Dataclasses become dicts, enums their values, addresses and networks their text. A `Secret` stays
masked: serialising a result can never leak one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import ipaddress
from collections.abc import Mapping
from typing import Any

from diagnostics.secret import Secret

_IP_TYPES = (
    ipaddress.IPv4Address,
    ipaddress.IPv6Address,
    ipaddress.IPv4Network,
    ipaddress.IPv6Network,
)


def to_jsonable(value: Any) -> Any:
    if isinstance(value, Secret):
        return value.hint()
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, _IP_TYPES):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return to_jsonable(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.name.startswith("_")
        }
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return str(value)
