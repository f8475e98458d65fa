"""Run every benchmark in this package (`python -m bench`), one after the other."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    status = 0
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]))
    for name in names:
        if not name.endswith("_bench"):
            continue
        print(f"== bench.{name}", flush=True)
        module = importlib.import_module(f"bench.{name}")
        status = max(status, int(module.main() or 0))
    return status


if __name__ == "__main__":
    sys.exit(main())
