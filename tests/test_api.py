"""The package root exports its public API lazily: every name in ``__all__`` resolves to its module's object."""

import importlib
import subprocess
import sys

import pytest

import vkdnw_plugin


@pytest.mark.parametrize("name", [n for n in vkdnw_plugin.__all__ if n != "__version__"])
def test_every_exported_name_is_its_modules_object(name):
    module = importlib.import_module(f"vkdnw_plugin.{vkdnw_plugin._EXPORTS[name]}")
    assert getattr(vkdnw_plugin, name) is getattr(module, name)


def test_importing_the_root_stays_light_and_unknown_names_fail():
    code = "import sys, vkdnw_plugin; print('torch' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        vkdnw_plugin.nope  # noqa: B018


def test_readme_python_api_example_runs():
    """README's "Python API" block, executed as written (docs that match the code)."""
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme[readme.index("## Python API") :]
    code = section[section.index("```python") + len("```python") : section.index("```\n", section.index("```python") + 9)]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
    result = namespace["result"]
    assert result.valid and result.dim > 0 and 0 <= result.entropy <= 2.2
