"""Packaging: sdist and wheel build, ``twine check`` passes, the wheel holds the three packages, the
configs and the console scripts, and a venv isolated from this environment, where pip installs the wheel
and its declared dependencies, imports every module and runs ``vkdnw score`` and ``vkdnw configs``."""

import site
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("build", reason="python -m build is not installed (pip install -e .[dev])")
pytest.importorskip("twine", reason="twine is not installed (pip install -e .[dev])")

REPO = Path(__file__).resolve().parents[1]
ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
CONFIGS = sorted(p.name for p in (REPO / "configs").iterdir() if p.suffix in (".yml", ".yaml", ".json"))


def run(*command, **kwargs):
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    # sdist, then the wheel from the unpacked sdist (so the sdist is complete); --no-isolation: this
    # environment's setuptools, no index needed
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, REPO)
    return out


def test_twine_check_passes(dist):
    files = sorted(dist.iterdir())
    assert sorted(f.suffix for f in files) == [".gz", ".whl"], files
    assert "PASSED" in run(sys.executable, "-m", "twine", "check", "--strict", *files)


def test_wheel_and_sdist_contents(dist):
    wheel = zipfile.ZipFile(next(dist.glob("*.whl")))
    names = set(wheel.namelist())
    for required in ("vkdnw_plugin/engine/__init__.py", "vkdnw_plugin/proxies/__init__.py", "vkdnw_nni/trial.py",
                     "vkdnw_nni/loopback.js", "vkdnw_naslib/__init__.py"):  # fmt: skip
        assert required in names, f"{required} missing from the wheel"
    data = sorted(Path(n).name for n in names if "/data/share/vkdnw-plugin/configs/" in n)
    assert data == CONFIGS
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    scripts = wheel.read(entry_points).decode()
    for script in ("vkdnw = vkdnw_plugin.cli:main", "vkdnw-nni = vkdnw_nni.cli:main", "vkdnw-naslib = vkdnw_naslib.cli:main"):
        assert script in scripts
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)
    sdist = tarfile.open(next(dist.glob("*.tar.gz")))
    members = {Path(*Path(m).parts[1:]).as_posix() for m in sdist.getnames()}
    assert {"pyproject.toml", "README.md", "configs/vkdnw_mbv2.yml", "integrations/vkdnw_nni/trial.py"} <= members


IMPORT_EVERY_MODULE = """
import importlib, pkgutil
failed = []
for package in ("vkdnw_plugin", "vkdnw_nni", "vkdnw_naslib"):
    try:
        root = importlib.import_module(package)
    except ImportError as error:  # an adapter without its framework must name the extra to install
        if package == "vkdnw_plugin" or f"vkdnw-plugin[{package[6:]}]" not in str(error):
            failed.append(f"{package}: {error!r}")
        continue
    for module in pkgutil.walk_packages(root.__path__, package + "."):
        try:
            importlib.import_module(module.name)
        except Exception as error:
            failed.append(f"{module.name}: {error!r}")
print("\\n".join(failed) or "all modules imported")
"""


def test_wheel_in_an_isolated_venv_installs_its_dependencies_and_runs(dist, tmp_path):
    """The wheel in a venv that sees nothing of this environment: pip resolves its declared
    dependencies from the index (torch pinned to the CPU build), every module imports, and the
    console scripts run. An undeclared runtime import fails here."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    bin_dir = env_dir / ("Scripts" if sys.platform == "win32" else "bin")
    python = bin_dir / "python"
    run(python, "-m", "pip", "install", "-q", f"torch=={torch_version()}", next(dist.glob("*.whl")))
    inner_path = run(python, "-c", "import sys; print('\\n'.join(sys.path))").split("\n")
    outer_site = set(site.getsitepackages()) | {site.getusersitepackages()}
    assert not outer_site & set(inner_path), f"the venv sees this environment's packages: {inner_path}"
    assert run(python, "-c", IMPORT_EVERY_MODULE, cwd=tmp_path).strip() == "all modules imported"
    out = run(bin_dir / "vkdnw", "score", "--arch", ARCH, "--batch", "8", "--json", cwd=tmp_path)
    assert '"entropy"' in out
    run(bin_dir / "vkdnw", "configs", "--out", tmp_path / "configs", cwd=tmp_path)
    assert sorted(p.name for p in (tmp_path / "configs").iterdir()) == CONFIGS


def torch_version() -> str:
    """This environment's torch release without the local tag (``2.13.0+cpu`` → ``2.13.0``)."""
    import torch

    return torch.__version__.split("+")[0]
