"""``import vkdnw_naslib`` without NASLib: an ImportError saying how to install it (runs everywhere)."""

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_without_naslib_names_install_instructions():
    code = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, %r)
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "naslib" or name.startswith("naslib."):
                    raise ModuleNotFoundError("No module named 'naslib'", name="naslib")
        sys.meta_path.insert(0, Block())
        try:
            import vkdnw_naslib
        except ImportError as exc:
            print(exc)
        else:
            print("IMPORTED")
        """
        % str(ROOT / "integrations")
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    text = out.stdout + out.stderr
    assert "IMPORTED" not in text
    assert "NASLib is not installed" in text
    assert 'pip install "vkdnw-plugin[naslib]"' in text
    assert "-b Develop https://github.com/automl/NASLib" in text
