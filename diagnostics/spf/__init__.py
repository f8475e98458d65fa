"""SPF: parse records, expand macros, evaluate check_host() (RFC 7208).

See the docstrings of diagnostics.spf.record, diagnostics.spf.macro and diagnostics.spf.evaluate
for the API of each part.
"""

from diagnostics.spf.macro import MacroContext, MacroSyntaxError, expand, macro_problem
from diagnostics.spf.record import (
    Mechanism,
    Modifier,
    Qualifier,
    SpfRecord,
    is_spf_record,
    parse_record,
)

__all__ = [
    "MacroContext",
    "MacroSyntaxError",
    "Mechanism",
    "Modifier",
    "Qualifier",
    "SpfRecord",
    "expand",
    "is_spf_record",
    "macro_problem",
    "parse_record",
]
