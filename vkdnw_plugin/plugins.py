"""Third-party search spaces and proxies, found through Python entry points (torch-free).

A package registers spaces in the entry-point group ``vkdnw_plugin.spaces`` and proxies in
``vkdnw_plugin.proxies``, e.g. in its ``pyproject.toml``::

    [project.entry-points."vkdnw_plugin.spaces"]
    toy = "toy_space:register"        # a callable: called with no arguments
    [project.entry-points."vkdnw_plugin.proxies"]
    my_proxy = "toy_space.proxies"    # a module: imported (its decorators register)

The installed entry points are read once per process and load lazily, each at most once: the one
named like a looked-up name first, all of them when a name is still unknown or when the registry is
listed. A plugin that fails to load is skipped and remembered; its error is shown in the one-line
error of an unknown name, and a failure other than a missing dependency (``ImportError``) also warns.
"""

from __future__ import annotations

import inspect
import warnings
from importlib.metadata import entry_points

SPACES_GROUP = "vkdnw_plugin.spaces"
PROXIES_GROUP = "vkdnw_plugin.proxies"

_DISCOVERED: dict[str, list] = {}  # group -> its entry points
_LOADED: set[tuple[str, str, str]] = set()  # (group, name, value) of every entry point tried
_FAILED: dict[str, dict[str, str]] = {}  # group -> {entry point name: "value: error"}


class PluginWarning(RuntimeWarning):
    """An installed plugin's entry point raised while loading."""


def load_plugins(group: str, name: str | None = None) -> None:
    """Load the entry points of ``group`` not tried yet: only those called ``name`` when it is given
    and one exists, else all of them."""
    if group not in _DISCOVERED:  # the installed entry points are read once per process
        _DISCOVERED[group] = list(entry_points(group=group))
    found = _DISCOVERED[group]
    named = [ep for ep in found if ep.name == name]
    for ep in named if named else found:
        key = (group, ep.name, ep.value)
        if key in _LOADED:
            continue
        _LOADED.add(key)
        try:
            loaded = ep.load()
            if callable(loaded) and not inspect.ismodule(loaded):
                loaded()
        except Exception as error:  # noqa: BLE001 - one broken plugin must not break the others
            text = " ".join(str(error).split())
            _FAILED.setdefault(group, {})[ep.name] = f"{ep.value}: {type(error).__name__}: {text}"
            if not isinstance(error, ImportError):
                warnings.warn(f"plugin {ep.name} = {ep.value} ({group}) failed to load: {type(error).__name__}: {text}",
                              PluginWarning, stacklevel=3)  # fmt: skip


def failure_note(group: str) -> str:
    """``" (plugins that failed to load: ...)"`` for an unknown-name error, or ``""``."""
    failed = _FAILED.get(group)
    if not failed:
        return ""
    return " (plugins that failed to load: " + "; ".join(f"{name} = {why}" for name, why in sorted(failed.items())) + ")"
