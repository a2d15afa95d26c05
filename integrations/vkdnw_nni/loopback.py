"""Keep NNI's web server on the loopback interface: :func:`loopback_env` preloads ``loopback.js``
(``NODE_OPTIONS=--require ...``), which makes every Node server bind 127.0.0.1 instead of all interfaces."""

from __future__ import annotations

import os
from pathlib import Path

SHIM = Path(__file__).with_name("loopback.js")


def loopback_env(env: dict | None = None) -> dict:
    """A copy of ``env`` (default ``os.environ``) whose Node processes listen on 127.0.0.1 only."""
    env = dict(os.environ if env is None else env)
    option = f"--require {SHIM}"
    current = env.get("NODE_OPTIONS", "")
    if option not in current:
        env["NODE_OPTIONS"] = f"{current} {option}".strip()
    return env
