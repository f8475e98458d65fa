"""The desk as a browser sees it: `streamlit run app.py` in its own process group on a free loopback
port, with the environment the test gives it, stopped (the whole group) when the test is done.

    with running_desk(env, log=path) as url: ...
    with running_desk(env, log=path, port=port, options=["--secrets.files=..."]) as url: ...
    with running_desk(env, log=path, address="0.0.0.0") as url: ...
    env = fresh_environment(tmp, DESK_AUTH="local")   # a desk of its own, with these on top

A test that must name the desk's address before it starts (an OpenID Connect redirect_uri) takes
a `free_port()` itself; `options` are more Streamlit config options for that server only. The
server listens on 127.0.0.1 unless `address` says otherwise (a desk open to the network, which the
browser still reaches on 127.0.0.1); None leaves it to .streamlit/config.toml.

Every wait is bounded: a server that does not answer /_stcore/health in time is stopped and its
log tail is in the error, so a broken page import shows up as text rather than as a hung suite.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import admin

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 45.0  # two cores shared by several engineers: Streamlit may take a while to import
STOP_TIMEOUT = 10.0
LOOPBACK = "127.0.0.1"


def fresh_environment(tmp: Path, **variables: str) -> dict[str, str]:
    """The environment of a desk of its own under `tmp`: an empty SQLite database and data folder,
    a fresh key, its own home (no ~/.streamlit of the developer's), a nameserver that never
    answers (no page may reach public DNS); `variables` on top."""
    (tmp / "home").mkdir()
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp / "home"),
        "LANG": "C.UTF-8",
        "DATABASE_URL": f"sqlite:///{tmp / 'desk.sqlite'}",
        "DESK_DATA_DIR": str(tmp / "data"),
        "DESK_SECRET_KEY": admin.generate_key(),
        "DESK_NAMESERVER": "127.0.0.1:9",
        "DESK_DNS_TIMEOUT": "1",
        **variables,
    }


def free_port() -> int:
    """A port nothing listens on right now (bind port 0 and let the kernel choose)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def streamlit_command(
    port: int, options: Sequence[str] = (), address: str | None = LOOPBACK
) -> list[str]:
    # The .venv's interpreter runs the tests, so `sys.executable -m streamlit` is the .venv's one.
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "app.py"),
        "--server.headless=true",
        # None: no option, so the repository's .streamlit/config.toml decides (a plain `run`).
        *([f"--server.address={address}"] if address is not None else []),
        f"--server.port={port}",
        "--server.fileWatcherType=none",  # other engineers edit the tree while the tests run
        "--server.runOnSave=false",
        "--browser.gatherUsageStats=false",
        "--global.developmentMode=false",
        *options,
    ]


def _log_tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the whole group, then SIGKILL if it lingers: no orphaned script threads."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT)


@contextlib.contextmanager
def running_desk(
    env: Mapping[str, str],
    *,
    log: Path,
    port: int | None = None,
    options: Sequence[str] = (),
    address: str | None = LOOPBACK,
) -> Iterator[str]:
    """Start the app with exactly `env` (plus PATH and HOME), listening on `address`, yield its
    base URL (always on 127.0.0.1, which a wildcard address includes), stop it."""
    port = port or free_port()
    url = f"http://{LOOPBACK}:{port}"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            streamlit_command(port, options, address),
            cwd=ROOT,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so the whole group can be stopped
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _healthy(url):
                if process.poll() is not None:
                    raise RuntimeError(
                        f"streamlit exited with {process.returncode}:\n{_log_tail(log)}"
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"streamlit did not answer {url}/_stcore/health within "
                        f"{START_TIMEOUT:.0f} s:\n{_log_tail(log)}"
                    )
                time.sleep(0.2)
            yield url
        finally:
            _stop(process)
