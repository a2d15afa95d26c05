"""Search spaces: a registry of :class:`SpaceSpec` (NAS-Bench-201 and NAS-Bench-Macro built in,
others from plugins' ``vkdnw_plugin.spaces`` entry points) and each space's own module."""

from ._registry import SpaceSpec, get_space, list_spaces, register_space, select_subset, space_names

__all__ = ["SpaceSpec", "get_space", "list_spaces", "register_space", "select_subset", "space_names"]
