"""SPF: parse records, expand macros, evaluate check_host() (RFC 7208).

See the docstrings of diagnostics.spf.record, diagnostics.spf.macro and diagnostics.spf.evaluate
for the API of each part.
"""

from diagnostics.spf.analyze import analyze, analyze_async
from diagnostics.spf.compile import Authorizer, CompileStats, compile
from diagnostics.spf.evaluate import check_host, check_host_async
from diagnostics.spf.macro import MacroContext, MacroSyntaxError, expand, macro_problem
from diagnostics.spf.recommend import DnsRecord, SpfRecommendation, recommend, recommend_async
from diagnostics.spf.record import (
    Mechanism,
    Modifier,
    Qualifier,
    SpfRecord,
    is_spf_record,
    parse_record,
)
from diagnostics.spf.result import Result, SpfResult, TraceStep
from diagnostics.spf.tree import SpfAnalysis, SpfNode

__all__ = [
    "Authorizer",
    "CompileStats",
    "DnsRecord",
    "MacroContext",
    "MacroSyntaxError",
    "Mechanism",
    "Modifier",
    "Qualifier",
    "Result",
    "SpfAnalysis",
    "SpfNode",
    "SpfRecommendation",
    "SpfRecord",
    "SpfResult",
    "TraceStep",
    "analyze",
    "analyze_async",
    "check_host",
    "check_host_async",
    "compile",
    "expand",
    "is_spf_record",
    "macro_problem",
    "parse_record",
    "recommend",
    "recommend_async",
]
