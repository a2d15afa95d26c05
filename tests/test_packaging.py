"""Packaging: sdist and wheel build, ``twine check`` passes, the wheel holds the three packages, the
configs and the console scripts, and a fresh venv with only the wheel installed (its dependencies read
from this environment's site-packages) runs ``vkdnw score`` and ``vkdnw configs``."""

import subprocess
import sys
import sysconfig
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
    for required in ("vkdnw_plugin/vkdnw.py", "vkdnw_plugin/proxies/__init__.py", "vkdnw_nni/trial.py",
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


def test_installed_wheel_runs_the_console_script(dist, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / ("Scripts" if sys.platform == "win32" else "bin")
    python = bin_dir / "python"
    # dependencies (torch, ...) from this environment, after the venv's own site-packages; a plain path
    # line, so this environment's editable install of vkdnw-plugin is not activated there
    venv_site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    here = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (venv_site / "outer_env.pth").write_text("\n".join(sorted(here)) + "\n")
    # the wheel itself, no index: its dependencies come from this environment's site-packages
    run(python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--ignore-installed", next(dist.glob("*.whl")))
    where = run(python, "-c", "import importlib.util as u; print(u.find_spec('vkdnw_plugin').origin); print(u.find_spec('vkdnw_nni').origin)",
                cwd=tmp_path)  # fmt: skip
    assert all(line.startswith(str(env_dir)) for line in where.split()), where
    out = run(bin_dir / "vkdnw", "score", "--arch", ARCH, "--batch", "8", "--json", cwd=tmp_path)
    assert '"entropy"' in out
    run(bin_dir / "vkdnw", "configs", "--out", tmp_path / "configs", cwd=tmp_path)
    assert sorted(p.name for p in (tmp_path / "configs").iterdir()) == CONFIGS
