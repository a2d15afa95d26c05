"""Without a framework: ``import vkdnw_naslib`` / ``import vkdnw_nni`` raise an ImportError naming the
extra to install, and the whole core (every ``vkdnw_plugin`` module) imports without either.
Each case runs in a subprocess whose import system refuses the blocked packages (runs everywhere)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BLOCKED_IMPORT = """
import sys
sys.path[:0] = [%r, %r]
BLOCKED = %r
class Block:
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in BLOCKED:
            raise ModuleNotFoundError(f"No module named {top!r}", name=top)
sys.meta_path.insert(0, Block())
"""


def run_blocked(blocked, body):
    code = BLOCKED_IMPORT % (str(ROOT), str(ROOT / "integrations"), tuple(blocked)) + textwrap.dedent(body)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    return out.stdout + out.stderr


@pytest.mark.parametrize(
    "adapter, framework, expected",
    [
        ("vkdnw_naslib", "naslib", ["NASLib is not installed", 'pip install "vkdnw-plugin[naslib]"',
                                    "-b Develop https://github.com/automl/NASLib"]),
        ("vkdnw_nni", "nni", ["needs Microsoft NNI", "pip install vkdnw-plugin[nni]"]),
    ],
)  # fmt: skip
def test_adapter_without_its_framework_names_the_extra(adapter, framework, expected):
    text = run_blocked([framework], f"""
        try:
            import {adapter}
        except ImportError as exc:
            print(exc)
        else:
            print("IMPORTED")
        """)
    assert "IMPORTED" not in text
    for words in expected:
        assert words in text, text


def test_core_imports_without_any_framework():
    text = run_blocked(["nni", "naslib"], """
        import importlib, pkgutil, vkdnw_plugin
        names = [m.name for m in pkgutil.walk_packages(vkdnw_plugin.__path__, "vkdnw_plugin.")]
        for name in names:
            importlib.import_module(name)
        print("CORE OK", len(names))
        """)
    assert "CORE OK" in text, text
