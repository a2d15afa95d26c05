"""The VKDNW scoring options, owned once: :class:`VKDNWOptions` holds their defaults (the package's, and
each search space's own through :meth:`VKDNWOptions.for_space`), checks every value (one
:class:`~vkdnw_plugin.options.OptionError` naming it) and declares their command-line flags. The Python
API, ``vkdnw score|evaluate``, the NNI evaluator, trial and tuner and NASLib's ``vkdnw:`` config
section all build one, with the same names: a field ``n_tensors`` is the flag ``--n-tensors`` and the
config key ``vkdnw.n_tensors``. Torch-free (a device other than ``cpu`` is checked with torch).
"""

from __future__ import annotations

import argparse
import dataclasses
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

from .options import DEFAULT_THREADS, OptionError, check_choice, check_count, check_device

MODES = ("reference", "exact")
TENSOR_POLICIES = ("first", "random")
N_QUANTILES = (9, 11)
DIRECTIONS = ("auto", "reverse", "forward")
# The engine's own defaults, where neither the caller nor the search space chose (the authors' NB201 code).
ENGINE_DEFAULTS = {"n_tensors": 128, "tensor_policy": "first", "n_quantiles": 9}
ENGINE_FIELDS = ("n_tensors", "tensor_policy", "n_quantiles", "direction", "compile")
# Old spellings, accepted with an OptionDeprecationWarning until the next release.
DEPRECATED = {"mode": "modes", "batch_size": "batch", "quantiles": "n_quantiles"}


class OptionDeprecationWarning(FutureWarning):
    """An option spelled the old way (``--batch-size``, ``mode=``); it still works for one release."""


def warn_deprecated(old: str, new: str, stacklevel: int = 3) -> None:
    warnings.warn(f"{old} is deprecated and will be removed in the next release; use {new}", OptionDeprecationWarning,
                  stacklevel=stacklevel)  # fmt: skip


def _modes(value) -> tuple[str, ...]:
    modes = tuple(m.strip() for m in value.split(",") if m.strip()) if isinstance(value, str) else tuple(value)
    if not modes:
        raise OptionError("modes", value, f"no mode given; expected {', '.join(MODES)} or reference,exact")
    for mode in modes:
        check_choice("modes", mode, MODES)
    if len(set(modes)) != len(modes):
        raise OptionError("modes", value, "a mode is given twice")
    return modes


@dataclass(frozen=True)
class VKDNWOptions:
    """How networks are scored.

    ``modes``: Fisher matrices, ``reference`` (the authors' code) and/or ``exact`` (the paper's
    formula), from one shared Jacobian; a string ``"reference,exact"`` is accepted. ``n_tensors``,
    ``tensor_policy`` (``first`` | ``random``), ``n_quantiles`` (9 | 11): sampled parameter tensors and
    spectrum quantiles; ``None`` means the search space's default, else the authors' NB201 settings
    (128, first, 9). ``direction``: Jacobian direction (``auto`` | ``reverse`` | ``forward``);
    ``compile``: reverse mode through compiled repeating blocks. ``batch``: random inputs per
    network; ``seed``: the protocol's seed; ``resolution``: input side in pixels (``None``: the
    dataset's); ``device``: ``cpu``, ``cuda`` or ``cuda:N``; ``threads``: torch threads per process."""

    modes: tuple[str, ...] = ("reference",)
    n_tensors: int | None = None
    tensor_policy: str | None = None
    n_quantiles: int | None = None
    direction: str = "auto"
    compile: bool = False
    batch: int = 64
    seed: int = 0
    resolution: int | None = None
    device: str = "cpu"
    threads: int = DEFAULT_THREADS

    def __post_init__(self):
        object.__setattr__(self, "modes", _modes(self.modes))
        if self.n_tensors is not None:
            check_count("n_tensors", self.n_tensors)
        if self.tensor_policy is not None:
            check_choice("tensor_policy", self.tensor_policy, TENSOR_POLICIES)
        if self.n_quantiles is not None:
            check_choice("n_quantiles", self.n_quantiles, N_QUANTILES)
        check_choice("direction", self.direction, DIRECTIONS)
        if not isinstance(self.compile, bool):
            raise OptionError("compile", self.compile, "expected True or False")
        check_count("batch", self.batch)
        check_count("seed", self.seed, minimum=0)
        if self.resolution is not None:
            check_count("resolution", self.resolution)
        if self.device != "cpu":
            check_device(self.device)
        check_count("threads", self.threads)

    @classmethod
    def from_mapping(cls, values: Mapping | None = None, *, base: VKDNWOptions | None = None) -> VKDNWOptions:
        """Options from ``{field: value}`` on top of ``base`` (default: the defaults); old spellings
        (:data:`DEPRECATED`) warn and are renamed, unknown keys raise :class:`OptionError`."""
        changes = {}
        known = [f.name for f in dataclasses.fields(cls)]
        for key, value in dict(values or {}).items():
            if key in DEPRECATED:
                warn_deprecated(key, DEPRECATED[key], stacklevel=4)
                key = DEPRECATED[key]
            if key not in known:
                raise OptionError(key, value, f"unknown VKDNW option; expected any of {', '.join(known)}")
            changes[key] = value
        return dataclasses.replace(base or cls(), **changes)

    def replace(self, **changes) -> VKDNWOptions:
        """A copy with ``changes`` (field names, or old spellings with a warning)."""
        return type(self).from_mapping(changes, base=self)

    def for_space(self, space, dataset: str | None = None) -> VKDNWOptions:
        """Every ``None`` filled in: the space's ``vkdnw_defaults``, then :data:`ENGINE_DEFAULTS`;
        ``resolution`` from ``dataset`` (default: the space's first). ``space``: a name, a
        :class:`~vkdnw_plugin.spaces.SpaceSpec`, or ``None`` (no space: the engine's defaults, and
        ``resolution`` must be set)."""
        from .spaces import get_space

        spec = None if space is None else get_space(space)
        defaults = {**ENGINE_DEFAULTS, **((spec and spec.vkdnw_defaults) or {})}
        filled = {key: defaults[key] for key in ENGINE_DEFAULTS if getattr(self, key) is None}
        if self.resolution is None:
            if spec is None:
                raise OptionError("resolution", None, "not set; without a search space the input resolution must be given")
            filled["resolution"] = spec.shape(dataset)[1]
        return self.replace(**filled) if filled else self

    def engine_options(self) -> dict:
        """Keywords of the engine (:data:`ENGINE_FIELDS`), ``None`` replaced by :data:`ENGINE_DEFAULTS`."""
        return {key: ENGINE_DEFAULTS[key] if getattr(self, key) is None else getattr(self, key) for key in ENGINE_FIELDS}

    def cache_options(self) -> dict:
        """Every option besides modes, batch and seed that changes a score (the result cache's key):
        the engine options, the input resolution and the device type."""
        return {**self.engine_options(), "resolution": self.resolution, "device": self.device.split(":")[0]}

    # ------------------------------------------------------------------ command line
    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser, *, seeds: bool = False, exclude=()) -> None:
        """The flags of every field not in ``exclude`` (``--n-tensors`` for ``n_tensors``; ``--seeds``,
        a list, instead of ``--seed`` when ``seeds``), with the old spellings as hidden deprecated
        aliases. Unset flags stay ``None``, so :meth:`from_args` keeps the defaults."""
        d = VKDNWOptions()
        flags = {
            "modes": dict(help="Fisher matrix: reference (the authors' code), exact (the paper's formula) or "
                               "reference,exact (both from one Jacobian)", default_text=",".join(d.modes)),
            "n_tensors": dict(type=int, help="parameter tensors sampled", default_text="the space's, else 128"),
            "tensor_policy": dict(help="first or random tensors", default_text="the space's, else first"),
            "n_quantiles": dict(type=int, help="9 (deciles) or 11 (deciles, min and max)", default_text="the space's, else 9"),
            "direction": dict(help="Jacobian direction: reverse (1 + K backward passes, K = classes or head width), "
                                   "forward (one pass per sampled tensor) or auto (the cheaper)", default_text=d.direction),
            "compile": dict(action="store_true", help="run reverse mode through torch.compile'd repeating blocks "
                                                      "(compiled once per block shape and process)"),
            "batch": dict(type=int, help="random inputs per network", default_text=d.batch),
            "seed": dict(type=int, help="the protocol's seed (network init and inputs)", default_text=d.seed),
            "resolution": dict(type=int, help="input side in pixels", default_text="the dataset's"),
            "device": dict(help="cpu, cuda or cuda:N", default_text=d.device),
            "threads": dict(type=int, help="torch threads per process; workers x threads above the CPU cores is "
                                           "allowed with a warning (oversubscribed cores score several times slower)",
                            default_text=d.threads),
        }  # fmt: skip
        if seeds:
            flags["seed"] = dict(nargs="+", dest="seeds", help="network init/input seeds: integers, A..B or a,b,c",
                                 default_text=d.seed)  # fmt: skip
        for name, spec in flags.items():
            if name in exclude:
                continue
            default_text = spec.pop("default_text", None)
            if default_text is not None:
                spec["help"] += f" (default: {default_text})"
            flag = "--seeds" if name == "seed" and seeds else "--" + name.replace("_", "-")
            parser.add_argument(flag, dest=spec.pop("dest", name), default=None, **spec)
        for old, new in DEPRECATED.items():
            if new not in exclude:
                parser.add_argument("--" + old.replace("_", "-"), dest=new, default=None, type=int if new != "modes" else None,
                                    action=_DeprecatedFlag, new_flag="--" + new.replace("_", "-"), help=argparse.SUPPRESS)

    @classmethod
    def from_args(cls, args: argparse.Namespace, **fixed) -> VKDNWOptions:
        """Options from the flags of :meth:`add_arguments` that were given (``--seeds``: the first
        seed), plus ``fixed`` values."""
        values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if getattr(args, f.name, None) is not None}
        return cls.from_mapping({**values, **fixed})


class _DeprecatedFlag(argparse.Action):
    """An old flag: stores into the new one's destination and warns."""

    def __init__(self, *args, new_flag: str, **kwargs):
        self.new_flag = new_flag
        super().__init__(*args, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        warn_deprecated(option_string, self.new_flag)
        setattr(namespace, self.dest, values)
