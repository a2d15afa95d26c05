"""Ground-truth loaders: NAS-Bench-201 table and subsets, published zero-cost scores, NAS-Bench-Macro."""

from .by_space import ground_truth
from .nas_bench_macro import load_nas_bench_macro, load_nas_bench_macro_archs, select_codes
from .nb201 import accuracy_by_arch, load_nb201_table, load_official_nb201, nb201_accuracy, nb201_params, select_archs
from .zero_cost import load_naslib_zc, load_suite_zero

__all__ = [
    "ground_truth",
    "load_nas_bench_macro",
    "load_nas_bench_macro_archs",
    "load_naslib_zc",
    "load_nb201_table",
    "load_official_nb201",
    "load_suite_zero",
    "accuracy_by_arch",
    "nb201_accuracy",
    "nb201_params",
    "select_archs",
    "select_codes",
]
