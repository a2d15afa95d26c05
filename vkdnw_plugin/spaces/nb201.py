"""NAS-Bench-201 cell architectures and the TinyNetwork that trains them.

An architecture has six edges; every edge carries one of five operations. Three spellings are
accepted everywhere and converted with :func:`parse_arch`:

* arch string ``|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|``
  (edges in the order 0→1, 0→2, 1→2, 0→3, 1→3, 2→3);
* NAS-Bench-201 index 0…15624 (NAS-Bench-201 / NATS-Bench topology order; that order is data, read
  from the NB201 table, see :func:`vkdnw_plugin.paths.nb201_table_path`);
* NASLib op tuple such as ``(4, 3, 3, 0, 0, 0)``: codes 0 skip_connect, 1 none, 2 nor_conv_3x3,
  3 nor_conv_1x1, 4 avg_pool_3x3 on edges (1,2)(1,3)(1,4)(2,3)(2,4)(3,4), i.e. 0→1, 0→2, 0→3, 1→2, 1→3, 2→3;
* NNI's edge dict ``{"0_1": "conv_3x3", ...}`` (NNI's NAS-Bench-201 benchmark) or the ``NasBench201``
  sample ``{"cell/0_1": "conv_3x3", ...}``, with NNI's op names (:data:`NNI_OPS`).

:func:`nb201_network` builds a module with the same submodules, ``named_parameters()`` order,
state-dict keys and forward as NAS-Bench-201's ``TinyNetwork`` (``forward`` returns
``(features, logits)``). The modules live in :mod:`.nb201_modules` and load (with torch) on first use,
so the names, parsing and datasets here import without torch (the NNI tuner process uses them).
"""

from __future__ import annotations

import ast
import csv
import functools
import itertools
import re
from dataclasses import dataclass

from ..paths import nb201_table_path
from ._registry import SpaceSpec, register_space, select_subset

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
NUM_ARCHS = len(OPS) ** 6
# Edge (source node, target node) of each of the 6 positions of an arch string.
STRING_EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
# NNI's names of the ops and of the edges, in arch-string order ("cell/" + edge in NNI's NasBench201 samples).
NNI_OPS = {"none": "none", "skip_connect": "skip_connect", "nor_conv_1x1": "conv_1x1", "nor_conv_3x3": "conv_3x3",
           "avg_pool_3x3": "avg_pool_3x3"}  # fmt: skip
NNI_EDGES = ("0_1", "0_2", "1_2", "0_3", "1_3", "2_3")
# Position in the arch string of each NASLib tuple position.
_NASLIB_TO_STRING = (0, 1, 3, 2, 4, 5)
_INDEX_PATTERN = re.compile(r"^\s*-?\d+\s*$")


@dataclass(frozen=True)
class NB201Arch:
    """One NAS-Bench-201 cell: ``ops[i]`` is the operation on edge ``STRING_EDGES[i]``."""

    ops: tuple[str, ...]

    @property
    def arch_str(self) -> str:
        o = self.ops
        return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"

    @property
    def index(self) -> int:
        """NAS-Bench-201 index (needs the NB201 table, see :func:`nb201_index_order`)."""
        return _index_of()[self.arch_str]

    @property
    def naslib(self) -> tuple[int, ...]:
        return tuple(NASLIB_OPS.index(self.ops[pos]) for pos in _NASLIB_TO_STRING)

    def nni(self, prefix: str = "") -> dict[str, str]:
        """NNI's edge dict (``prefix="cell/"``: the ``NasBench201`` sample)."""
        return {f"{prefix}{edge}": NNI_OPS[op] for edge, op in zip(NNI_EDGES, self.ops)}

    def __str__(self) -> str:
        return self.arch_str


def _check_op(op: str, spelled: str) -> str:
    if op not in OPS:
        raise ValueError(f"unknown op {op!r} in {spelled!r}; expected one of {', '.join(OPS)}")
    return op


def _from_string(text: str) -> NB201Arch:
    nodes = text.strip().split("+")
    expected_nodes = 3
    if len(nodes) != expected_nodes:
        raise ValueError(
            f"malformed NB201 arch string {text!r}: expected 3 nodes joined by '+', got {len(nodes)}"
        )
    ops = []
    for node_index, node in enumerate(nodes, start=1):
        if not (node.startswith("|") and node.endswith("|")):
            raise ValueError(f"malformed NB201 arch string {text!r}: node {node!r} must be wrapped in '|'")
        edges = node[1:-1].split("|")
        if len(edges) != node_index:
            raise ValueError(
                f"malformed NB201 arch string {text!r}: node {node_index} needs {node_index} edge(s), got {node!r}"
            )
        for source, edge in enumerate(edges):
            op, sep, src = edge.partition("~")
            if not sep or src != str(source):
                raise ValueError(
                    f"malformed NB201 arch string {text!r}: edge {edge!r} should read 'op~{source}'"
                )
            ops.append(_check_op(op, text))
    return NB201Arch(tuple(ops))


@functools.lru_cache(maxsize=4)
def nb201_index_order(table: str | None = None) -> tuple[str, ...]:
    """Arch strings in NB201 index order, read from the ``arch_str`` column of the NB201 table."""
    with open(nb201_table_path(table), newline="") as handle:
        order = tuple(row["arch_str"] for row in csv.DictReader(handle))
    if len(order) != NUM_ARCHS:
        raise ValueError(f"NB201 table {nb201_table_path(table)} has {len(order)} rows, expected {NUM_ARCHS}")
    return order


@functools.lru_cache(maxsize=1)
def _index_of() -> dict[str, int]:
    return {arch_str: i for i, arch_str in enumerate(nb201_index_order())}


def _from_index(index: int) -> NB201Arch:
    if not 0 <= index < NUM_ARCHS:
        problem = "is negative" if index < 0 else "is out of range"
        raise ValueError(f"NB201 index {index} {problem}; expected 0..{NUM_ARCHS - 1}")
    return _from_string(nb201_index_order()[index])


def _from_naslib(codes) -> NB201Arch:
    codes = tuple(codes)
    if len(codes) != 6:
        raise ValueError(f"NASLib NB201 tuple {codes!r} must have 6 op codes, got {len(codes)}")
    ops = [""] * 6
    for naslib_pos, code in enumerate(codes):
        if isinstance(code, bool) or int(code) != code or not 0 <= int(code) < len(NASLIB_OPS):
            raise ValueError(f"bad NASLib op code {code!r} in {codes!r}; expected integers 0..4")
        ops[_NASLIB_TO_STRING[naslib_pos]] = NASLIB_OPS[int(code)]
    return NB201Arch(tuple(ops))


def _from_nni(edges: dict) -> NB201Arch:
    names = {nni: op for op, nni in NNI_OPS.items()}
    prefix = "cell/" if any(str(label).startswith("cell/") for label in edges) else ""
    expected = {f"{prefix}{edge}" for edge in NNI_EDGES}
    if set(edges) != expected:
        raise ValueError(f"NNI NAS-Bench-201 edges {sorted(edges)} must be exactly {sorted(expected)}")
    ops = []
    for edge in NNI_EDGES:
        op = edges[f"{prefix}{edge}"]
        if op not in names:
            raise ValueError(f"unknown NNI op {op!r} on edge {prefix}{edge}; expected one of {', '.join(names)}")
        ops.append(names[op])
    return NB201Arch(tuple(ops))


def parse_arch(arch) -> NB201Arch:
    """Parse an arch string, an NB201 index (int or digit string), a NASLib tuple/list or its text
    ``"(4, 3, 3, 0, 0, 0)"``, an NNI edge dict, or an :class:`NB201Arch`. Raises ``ValueError`` naming
    the bad part."""
    if isinstance(arch, NB201Arch):
        return arch
    if isinstance(arch, dict):
        return _from_nni(arch)
    if isinstance(arch, bool):
        raise ValueError(f"cannot read an NB201 architecture from {arch!r}")
    if isinstance(arch, int) or (hasattr(arch, "__index__") and not isinstance(arch, str)):
        return _from_index(int(arch))
    if isinstance(arch, (tuple, list)):
        return _from_naslib(arch)
    if isinstance(arch, str):
        text = arch.strip()
        if _INDEX_PATTERN.match(text):
            return _from_index(int(text))
        if text.startswith(("(", "[")):
            try:
                codes = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                raise ValueError(f"malformed NASLib NB201 tuple {arch!r}") from None
            return _from_naslib(codes)
        return _from_string(text)
    raise ValueError(f"cannot read an NB201 architecture from {type(arch).__name__} {arch!r}")


def all_archs() -> list[NB201Arch]:
    """All 15,625 architectures (every op on every edge), in no benchmark's order."""
    return [NB201Arch(ops) for ops in itertools.product(OPS, repeat=6)]


def is_unique(arch) -> bool:
    """True if every non-``none`` op lies on an input→output path (the 9,445 "unique" set; the
    all-``none`` cell is included)."""
    ops = parse_arch(arch).ops
    live = [op != "none" for op in ops]
    reach_from_input = {0}
    for (src, dst), on in zip(STRING_EDGES, live):
        if on and src in reach_from_input:
            reach_from_input.add(dst)
    reach_output = {3}
    for (src, dst), on in sorted(zip(STRING_EDGES, live), key=lambda e: -e[0][1]):
        if on and dst in reach_output:
            reach_output.add(src)
    return all(
        not on or (src in reach_from_input and dst in reach_output) for (src, dst), on in zip(STRING_EDGES, live)
    )


def graph_features(arch) -> dict[str, float]:
    """GRAF-style features of a cell (``none`` edges removed), the model-driven ranker's set (c):

    * ``op_count_<op>``: edges carrying each op (skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3, none);
    * ``paths_through_<op>``: input→output paths that use at least one edge with that op;
    * ``paths_total``, ``path_min_len``, ``path_max_len``: number and lengths (in edges) of
      input→output paths (0 when the cell is disconnected)."""
    ops = parse_arch(arch).ops
    features = {f"op_count_{op}": float(sum(o == op for o in ops)) for op in OPS}
    paths = []

    def walk(node, used):
        if node == 3:
            paths.append(used)
            return
        for k, (src, dst) in enumerate(STRING_EDGES):
            if src == node and ops[k] != "none":
                walk(dst, used + [ops[k]])

    walk(0, [])
    for op in OPS[1:]:
        features[f"paths_through_{op}"] = float(sum(op in p for p in paths))
    features["paths_total"] = float(len(paths))
    features["path_min_len"] = float(min((len(p) for p in paths), default=0))
    features["path_max_len"] = float(max((len(p) for p in paths), default=0))
    return features


DATASETS = {"cifar10": (10, 32), "cifar100": (100, 32), "ImageNet16-120": (120, 16)}


def dataset_shape(dataset: str) -> tuple[int, int]:
    """``(num_classes, resolution)`` of an NB201 dataset."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
    return DATASETS[dataset]


_MODULES = ("AvgPool", "InferCell", "ReLUConvBN", "ResNetBasicblock", "TinyNetwork", "Zero", "nb201_network")


def __getattr__(name: str):
    if name in _MODULES:
        from . import nb201_modules

        return getattr(nb201_modules, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _build(arch: str, num_classes: int):
    from .nb201_modules import nb201_network

    return nb201_network(arch, num_classes=num_classes)


def _ground_truth(dataset: str, path=None) -> dict[str, float]:
    from ..groundtruth.nb201 import load_nb201_table, nb201_accuracy

    table = load_nb201_table(path)
    return dict(zip(table.arch_str, nb201_accuracy(table, dataset)))


register_space(SpaceSpec(
    name="nb201",
    build=_build,
    datasets=DATASETS,
    ground_truth=_ground_truth,
    aliases=("nasbench201", "nas-bench-201"),
    vkdnw_defaults={"n_tensors": 128, "tensor_policy": "first", "n_quantiles": 9},  # the authors' NB201 code
    arch_features=graph_features,
    sample_archs=functools.partial(select_subset, pools={"unique": is_unique}, default_pool="unique"),
    parse=lambda arch: parse_arch(arch).arch_str,
    arch_help="an arch string |op~0|+|op~0|op~1|+|op~0|op~1|op~2|, an NB201 index 0..15624 or a NASLib tuple such as (4, 3, 3, 0, 0, 0)",
    accuracy="NB201 200-epoch test accuracy (c10_test / c100_test / in16_test)",
    subsets="all, unique (the 9,445 of the paper's Table I), sample:N (from unique), sample:N@all",
))
