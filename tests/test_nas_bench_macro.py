"""NAS-Bench-Macro builder against the benchmark's own params/FLOPs table (shared data)."""

from __future__ import annotations

import csv
import os
import random
from pathlib import Path

import pytest
import torch

from vkdnw_plugin.paths import shared_dir
from vkdnw_plugin.proxies.flops import count_macs
from vkdnw_plugin.spaces.nas_bench_macro import (
    count_params,
    nas_bench_macro_codes,
    nas_bench_macro_network,
    parse_code,
)

SAMPLE_SIZE = 300


@pytest.fixture(scope="module")
def table() -> dict[str, tuple[int, int]]:
    """``code → (params, flops)`` from ``data/nas_bench_macro/nas_bench_macro_archs.csv``."""
    folder = Path(os.environ.get("VKDNW_SHARED") or shared_dir())
    path = folder / "data/nas_bench_macro/nas_bench_macro_archs.csv"
    if not path.is_file():
        pytest.skip(f"NAS-Bench-Macro table missing at {path} (set VKDNW_SHARED to the shared data folder)")
    with open(path, newline="") as handle:
        return {row["arch"]: (int(row["params"]), int(row["flops"])) for row in csv.DictReader(handle)}


@pytest.fixture
def one_thread():
    """Model construction is faster single-threaded on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def measure(code: str) -> tuple[int, int]:
    model = nas_bench_macro_network(code)
    return count_params(model), count_macs(model)


def test_codes_are_the_benchmark_codes(table):
    codes = nas_bench_macro_codes()
    assert len(codes) == len(set(codes)) == 6561
    assert codes[0] == "00000000" and codes[-1] == "22222222" and codes == sorted(codes)
    assert set(codes) == set(table)


def test_all_codes_by_layerwise_sum(table, one_thread):
    """Layer widths and resolutions do not depend on the choices, so params and FLOPs are a base
    (all identity) plus one term per (layer, choice); 17 real builds predict all 6561 rows."""
    base = measure("00000000")
    delta = {}
    for layer in range(8):
        for choice in "12":
            code = "0" * layer + choice + "0" * (7 - layer)
            delta[layer, choice] = tuple(v - b for v, b in zip(measure(code), base))
    mismatches = []
    for code in nas_bench_macro_codes():
        predicted = tuple(
            b + sum(delta[i, c][k] for i, c in enumerate(code) if c != "0") for k, b in enumerate(base)
        )
        if predicted != table[code]:
            mismatches.append((code, predicted, table[code]))
    assert not mismatches, f"{len(mismatches)} codes differ, e.g. {mismatches[:3]} (code, ours, table)"


def test_seeded_sample_by_construction(table, one_thread):
    for code in random.Random(0).sample(nas_bench_macro_codes(), SAMPLE_SIZE):
        assert measure(code) == table[code], code


@pytest.mark.slow
def test_all_codes_by_construction(table, one_thread):
    mismatches = [code for code in nas_bench_macro_codes() if measure(code) != table[code]]
    assert not mismatches, f"{len(mismatches)} codes differ, e.g. {mismatches[:5]}"


def test_scoring_target_contract():
    model = nas_bench_macro_network("12021201", num_classes=7)
    logits = model(torch.randn(2, 3, 32, 32))
    assert type(logits) is torch.Tensor and logits.shape == (2, 7)
    assert all(p.requires_grad for p in model.parameters())
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    allowed = (torch.nn.Conv2d, torch.nn.BatchNorm2d, torch.nn.Linear)
    owners = [m for m in model.modules() if next(m.parameters(recurse=False), None) is not None]
    assert all(isinstance(m, allowed) for m in owners)


def test_count_macs_leaves_model_state_alone():
    model = nas_bench_macro_network("22222222")
    stats = model.stem[1].running_mean.clone()
    count_macs(model)
    assert model.training and torch.equal(model.stem[1].running_mean, stats)


@pytest.mark.parametrize(
    "code, message",
    [
        ("0120012", "length 7"),
        ("012001200", "length 9"),
        ("01230120", "'3' at position 3"),
        ("0120 120", "' ' at position 4"),
        (12001200, "ints lose leading zeros"),
        (None, "got NoneType"),
    ],
)
def test_parse_code_rejects(code, message):
    with pytest.raises(ValueError, match=message) as error:
        parse_code(code)
    assert "\n" not in str(error.value)


def test_parse_code_keeps_leading_zeros():
    assert parse_code("00120012") == (0, 0, 1, 2, 0, 0, 1, 2)
    with pytest.raises(ValueError):
        nas_bench_macro_network("2222222")
