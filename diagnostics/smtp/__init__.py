"""SMTP connection settings, their lint, and the live probe (test mail).

lint(settings)                      -> list[Finding], no network
probe(settings, send_to=..., ...)   -> ProbeResult (probe_async for asyncio callers)
diagnose(failure, settings, ...)    -> ProbeDiagnosis, the pure step behind a probe's explanation
"""

from diagnostics.smtp.codes import Hint, Stage, Symptom
from diagnostics.smtp.diagnosis import Failure, FailureKind, ProbeDiagnosis, diagnose
from diagnostics.smtp.lint import lint
from diagnostics.smtp.message import build_test_message
from diagnostics.smtp.presets import Preset, preset, presets
from diagnostics.smtp.probe import probe, probe_async
from diagnostics.smtp.result import ProbeResult, Reply, TlsInfo
from diagnostics.smtp.settings import Security, SmtpSettings
from diagnostics.smtp.transcript import Transcript, scrub, secret_forms

__all__ = [
    "Failure",
    "FailureKind",
    "Hint",
    "Preset",
    "ProbeDiagnosis",
    "ProbeResult",
    "Reply",
    "Security",
    "SmtpSettings",
    "Stage",
    "Symptom",
    "TlsInfo",
    "Transcript",
    "build_test_message",
    "diagnose",
    "lint",
    "preset",
    "presets",
    "probe",
    "probe_async",
    "scrub",
    "secret_forms",
]
