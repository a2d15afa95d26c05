"""Primitives of the VKDNW paper's evolutionary search (after Zen-NAS / AZ-NAS), framework-free.

An architecture is a *sample*: a ``{label: value}`` dict, as NNI spaces and NASLib specs give them.
Two samples that build the same network are one architecture: :func:`canonical_sample` blanks the
choices a stage's depth leaves unused (labels ``<stage>_i<j>`` with ``j >= <stage>_depth``, as in NNI's
ProxylessNAS space), and :func:`architecture_key` names the canonical sample, so a search never scores
the same network twice and a mutation always changes the network. The NNI tuner and NAS strategy are
built from these functions; fitness values (VKDNW_agg inside the population, higher is better) come
from :func:`vkdnw_plugin.ranking.aggregate_ranks`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence

import numpy as np

from .options import FieldError

_LAYER = re.compile(r"^(?P<stage>.+)_i(?P<index>\d+)$")


def canonical_sample(sample: Mapping) -> dict:
    """``sample`` with every layer choice that its stage's depth leaves unused set to ``None``."""
    canonical = dict(sample)
    for label in sample:
        match = _LAYER.match(str(label))
        if match:
            depth = sample.get(f"{match['stage']}_depth")
            if isinstance(depth, int) and int(match["index"]) >= depth:
                canonical[label] = None
    return canonical


def architecture_key(sample: Mapping) -> str:
    """A stable text naming the network of ``sample``: sorted JSON of :func:`canonical_sample`."""
    return json.dumps(canonical_sample(sample), sort_keys=True, default=str)


def mutate_one_choice(rng: np.random.RandomState, parent: Mapping, choices: Mapping[str, Sequence],
                      retries: int = 1000) -> dict:
    """A copy of ``parent`` with exactly one label (among those with two or more values) set to another
    value such that the network changes (:func:`architecture_key` differs). ``ValueError`` when no
    label can change it."""
    labels = [label for label, values in choices.items() if len(values) > 1]
    if not labels:
        raise ValueError("the search space has no choice with two or more values to mutate")
    parent_key = architecture_key(parent)
    for _ in range(retries):
        label = labels[rng.randint(len(labels))]
        others = [v for v in choices[label] if v != parent[label]]
        child = copy.copy(dict(parent))
        child[label] = others[rng.randint(len(others))]
        if architecture_key(child) != parent_key:
            return child
    raise ValueError(f"no mutation of {dict(parent)} changes the network in {retries} tries")


def tournament(rng: np.random.RandomState, fitness: Sequence[float], sample_size: int) -> int:
    """Index of the parent: the fittest of ``sample_size`` members drawn without replacement
    (``sample_size`` 1: a uniformly random member)."""
    fitness = np.asarray(fitness, dtype=float)
    picks = rng.permutation(len(fitness))[: max(1, sample_size)]
    return int(picks[np.argmax(fitness[picks])])


def weakest(fitness: Sequence[float]) -> int:
    """Index of the member the population drops: the lowest fitness, the oldest among ties."""
    fitness = np.asarray(fitness, dtype=float)
    return int(np.flatnonzero(fitness == fitness.min())[0])


def check_budget(min_mflops, max_mflops, prefix: str = "") -> None:
    """``ValueError`` naming ``min_mflops`` / ``max_mflops`` unless each is a positive number or
    ``None`` and they are ordered."""
    for name, value in (("min_mflops", min_mflops), ("max_mflops", max_mflops)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0):
            raise FieldError(f"{prefix}{name}: expected a positive number of MFLOPs or null, got {value!r}")
    if min_mflops is not None and max_mflops is not None and min_mflops > max_mflops:
        raise FieldError(f"{prefix}min_mflops ({min_mflops}) is above max_mflops ({max_mflops})")


def within_budget(mflops: float, min_mflops=None, max_mflops=None) -> bool:
    """True when ``mflops`` lies in ``[min_mflops, max_mflops]`` (``None``: unbounded)."""
    return (max_mflops is None or mflops <= max_mflops) and (min_mflops is None or mflops >= min_mflops)
