"""The CLI's shared behaviour: usage errors never echo what might be a secret."""

from __future__ import annotations

from diagnostics.cli import main


def _run(argv):
    try:
        return main(argv)
    except SystemExit as exc:  # argparse exits on its own usage errors
        return exc.code


def test_unrecognised_arguments_are_not_echoed(capsys):
    # A password typed on the command line by mistake must not be printed back.
    code = _run(["smtp", "test", "--host", "h", "--password", "hunter2-secret", "stray-value"])
    captured = capsys.readouterr()
    assert code == 2
    assert "hunter2-secret" not in captured.err + captured.out
    assert "stray-value" not in captured.err + captured.out
