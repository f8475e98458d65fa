"""Every aggregate record validated at the edge, where both XML readers have built its row: what
cannot be true is kept out of the tables or flagged, always with a warning naming the record and
the value, never stored in silence.

- A source address that is not an IP address (`999.1.1.1`, `108r.166.27.220` from a corrupted
  report) or is missing: the record is left out, since no verdict can be attributed to it.
- A record of no messages (count 0): left out, with a warning; it adds nothing to any figure.
- A count above `PLAUSIBLE_COUNT` (no sender sends a billion messages from one address in one
  report): left out, so it cannot swamp a chart.
- A report dated before DMARC existed (`EARLIEST`, 2012) or ending more than a day in the future:
  kept, flagged with a warning; the reports page's default period and charts leave it out
  (`plausible_period`).

The warnings say which file (the batch names it), which record (its position in the report) and
which value; past `_MAX_NAMED` records of one kind the rest are counted, not listed.
"""

from __future__ import annotations

import ipaddress
import re
from array import array
from datetime import UTC, datetime, timedelta

import numpy as np

from diagnostics.dmarc.parse._bounds import quoted
from diagnostics.dmarc.parse._columns import RecordColumns
from diagnostics.wording import plural

__all__ = ["EARLIEST", "PLAUSIBLE_COUNT", "check_dates", "check_rows", "latest_plausible"]

# DMARC's first specification was published in January 2012; no report covers time before it.
EARLIEST = datetime(2012, 1, 1, tzinfo=UTC)
# A report may end a little ahead of the receiver's clock, never more than a day ahead of ours.
_AHEAD = timedelta(days=1)
PLAUSIBLE_COUNT = 1_000_000_000
_MAX_NAMED = 5
# Up to this many rows a report's rows are checked by a loop; numpy pays off beyond it.
_FEW_ROWS = 64


def latest_plausible(now: datetime | None = None) -> datetime:
    """The latest time a report may end: a day after `now`."""
    return (now or datetime.now(UTC)) + _AHEAD


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def _is_ip(text: str) -> bool:
    """Whether `text` is an IP address as `ipaddress` reads one; a dotted quad by a regular
    expression (ten times faster: a report can name 200,000 addresses), IPv6 by `ipaddress`."""
    if _IPV4.fullmatch(text):
        return True
    if ":" not in text:
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def check_rows(columns: RecordColumns, mark: int) -> tuple[int, int, list[str]]:
    """Validate the rows added since `mark` (one report's), leaving out those that cannot be true.
    Returns how many rows and messages were left out, and the warnings."""
    ips = columns.ips
    counts = columns.counts
    if len(counts) == mark:
        return 0, 0, []
    # Each distinct address is judged once per batch, when first seen: codes are handed out in
    # order, so the new ones are those past what was judged before.
    values = columns.encoders["source_ip"].values
    judged = columns.valid_ips
    judged.extend(_is_ip(value) for value in values[len(judged) :])
    # Whole-array checks (a report can hold a million rows); rows are visited one by one only when
    # something is wrong.
    bad_codes, lowest, highest = _summary(ips, counts, mark, judged)
    if not bad_codes and lowest > 0 and highest <= PLAUSIBLE_COUNT:
        return 0, 0, []  # the usual case: nothing to do
    keep: list[bool] = []
    named: dict[str, list[str]] = {"address": [], "empty": [], "count": []}
    dropped_messages = 0
    for number, (code, count) in enumerate(zip(ips[mark:], counts[mark:], strict=True), 1):
        if code in bad_codes:
            kind = "empty" if code < 0 and count == 0 else "address"
        elif count == 0:
            kind = "empty"
        elif count > PLAUSIBLE_COUNT:
            kind = "count"
        else:
            keep.append(True)
            continue
        keep.append(False)
        dropped_messages += count
        address = values[code] if code >= 0 else None
        named[kind].append(_described(number, address, count))
    columns.keep_rows(mark, keep)
    warnings = []
    for kind, lead in (
        ("address", "source address not an IP address"),
        ("empty", "no messages counted"),
        ("count", f"a count over {PLAUSIBLE_COUNT:,}, which no single address sends"),
    ):
        found = named[kind]
        if found:
            shown = "; ".join(found[:_MAX_NAMED])
            more = (
                f"; and {plural(len(found) - _MAX_NAMED, 'more')}"
                if len(found) > _MAX_NAMED
                else ""
            )
            warnings.append(f"{plural(len(found), 'record')} left out ({lead}): {shown}{more}")
    return keep.count(False), dropped_messages, warnings


def _summary(
    ips: array[int], counts: array[int], mark: int, judged: bytearray
) -> tuple[set[int], int, int]:
    """The address codes of the rows since `mark` that are no IP address (-1: none given), and
    their lowest and highest count. (Its own function: numpy's views of the arrays must be gone
    before rows are removed.)"""
    if len(counts) - mark <= _FEW_ROWS:
        # Most reports hold a few rows, where setting up numpy's views costs more than a loop.
        rows = counts[mark:]
        bad = {code for code in set(ips[mark:]) if code < 0 or not judged[code]}
        return bad, min(rows), max(rows)
    view = np.frombuffer(counts, dtype=np.int64)[mark:]
    codes = np.unique(np.frombuffer(ips, dtype=np.int32)[mark:])
    known = codes[codes >= 0]
    valid = np.frombuffer(judged, dtype=np.bool_)
    bad = {int(code) for code in known[~valid[known]]}
    if len(known) < len(codes):
        bad.add(-1)
    return bad, int(view.min()), int(view.max())


def _described(number: int, address: str | None, count: int) -> str:
    shown = "no source address" if address is None else f"source address {quoted(address)}"
    return f"record {number:,} ({shown}, count {count:,})"


def check_dates(
    begin: datetime | None, end: datetime | None, now: datetime | None = None
) -> list[str]:
    """Warnings for a report's date range that cannot be true (the module docstring says which)."""
    warnings = []
    latest = latest_plausible(now)
    for which, moment in (("begins", begin), ("ends", end)):
        if moment is None:
            continue
        if moment < EARLIEST:
            warnings.append(
                f"the report {which} on {moment:%Y-%m-%d}, before DMARC existed (2012): its date "
                "is wrong, and the charts and the default period leave it out"
            )
        elif moment > latest:
            warnings.append(
                f"the report {which} on {moment:%Y-%m-%d}, more than a day in the future: its date "
                "is wrong, and the charts and the default period leave it out"
            )
    return warnings
