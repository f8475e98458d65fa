"""The desk's alert rules: for each trouble kind (admin.troubles), whether it alerts and its
thresholds. One set per desk, in `alert_rules`; a kind without a row has the defaults. The queue's
refresh decides troubles with the same thresholds, so what the page ranks and what alerts agree.

Reading them is for everyone who sees the queue; changing them is for admins alone
(Permission.EDIT_ALERTS), checked by the caller (admin.alerts.AlertDesk.set_rule) before `save`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from admin.errors import AdminInputError
from admin.models import AlertRuleRow
from admin.troubles import DEFAULT_THRESHOLDS, Rule, TroubleKind, default_rules


def load(s: Session) -> dict[TroubleKind, Rule]:
    """Every kind's rule: the saved one, else the default."""
    rules = default_rules()
    for row in s.scalars(select(AlertRuleRow)):
        try:
            kind = TroubleKind(row.kind)
        except ValueError:
            continue  # a kind a later version added and this one does not know
        known = {k: float(v) for k, v in row.thresholds.items() if k in DEFAULT_THRESHOLDS[kind]}
        rules[kind] = Rule(kind, row.enabled, {**DEFAULT_THRESHOLDS[kind], **known})
    return rules


def parse_kind(value: TroubleKind | str) -> TroubleKind:
    try:
        return TroubleKind(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(k.value for k in TroubleKind)
        raise AdminInputError(
            f"Unknown kind of trouble {str(value)!r}: one of {choices}."
        ) from None


def checked_thresholds(kind: TroubleKind, thresholds: Mapping[str, object]) -> dict[str, float]:
    """`thresholds` for `kind`, each a known name and a number from 0 up; else AdminInputError."""
    allowed = DEFAULT_THRESHOLDS[kind]
    clean: dict[str, float] = {}
    for name, value in thresholds.items():
        if name not in allowed:
            names = ", ".join(allowed) or "none"
            raise AdminInputError(f"{kind.label} has no threshold {name!r} (it has: {names}).")
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise AdminInputError(f"The threshold {name} must be a number.") from None
        if not math.isfinite(number) or number < 0:
            raise AdminInputError(f"The threshold {name} must be a number from 0 up.")
        clean[name] = number
    return {**allowed, **clean}


def save(
    s: Session,
    kind: TroubleKind,
    enabled: bool,
    thresholds: Mapping[str, float],
    *,
    who: str,
    now: datetime,
) -> tuple[Rule, Rule]:
    """Write `kind`'s rule in the transaction `s`; the rule before and after."""
    before = load(s)[kind]
    row = s.get(AlertRuleRow, kind.value, with_for_update=True)
    if row is None:
        row = AlertRuleRow(kind=kind.value)
        s.add(row)
    row.enabled = bool(enabled)
    row.thresholds = dict(thresholds)
    row.updated_at = now
    row.updated_by = who
    return before, Rule(kind, row.enabled, dict(thresholds))


__all__ = ["checked_thresholds", "load", "parse_kind", "save"]
