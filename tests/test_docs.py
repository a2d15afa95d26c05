"""The documentation tells the truth: results files it names exist, README's results and speed tables equal the
results files they cite, the two fresh-machine commands keep their contract, and every example's docstring
states the defaults its parser has. Text parsing only (no torch, no pandas)."""

import ast
import csv
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
DOCS = sorted((ROOT / "docs").glob("*.md"))
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
RESULTS_PATH = re.compile(r"benchmarks/results/[\w.\-/]*[\w\-/]")


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + len(heading) + 2)
    return text[start : end if end != -1 else len(text)]


def _table_rows(section: str) -> list[list[str]]:
    """Cells of the first markdown table in ``section``, header and separator dropped."""
    lines = [line for line in section.splitlines() if line.startswith("|")]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    return [row for row in rows[2:] if row]


@pytest.mark.parametrize("doc", [ROOT / "README.md", *DOCS], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_results_path_named_in_the_docs_exists(doc):
    named = sorted(set(RESULTS_PATH.findall(doc.read_text())))
    missing = [path for path in named if not (ROOT / path).exists()]
    assert not missing, f"{doc.name} names results that do not exist: {missing}"


def test_the_docs_folder_is_linked_from_readme():
    for doc in DOCS:
        assert f"docs/{doc.name}" in README, f"README does not link docs/{doc.name}"


def test_readme_keeps_the_two_fresh_machine_commands_and_their_markers():
    for marker in ("<!-- main-command -->", "<!-- test-command -->"):
        after = README[README.index(marker) + len(marker) :].lstrip()
        assert after.startswith("```bash\n"), f"{marker} must be followed by a bash code fence"
        command = after.split("\n")[1]
        assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip install -e ")
    assert "## Python API\n" in README and "## Adding a search space or proxy\n" in README


def _results_rows():
    rows = _table_rows(_section(README, "## Results"))
    assert rows, "README's results table is empty"
    return rows


@pytest.mark.parametrize("row", _results_rows(), ids=lambda r: r[0])
def test_readme_results_table_equals_the_metrics_file_it_cites(row):
    name, kt, spr, ndcg = row[:4]
    source = re.fullmatch(r"`(benchmarks/results/[^`]+\.csv)`, `([^`]+)`", row[-1])
    assert source, f"{name}: last cell must be `FILE.csv`, `ROW`, got {row[-1]!r}"
    path, proxy = source.groups()
    with open(ROOT / path, newline="") as handle:
        records = {record["proxy"]: record for record in csv.DictReader(handle)}
    assert proxy in records, f"{name}: no row {proxy!r} in {path}"
    record = records[proxy]
    for column, shown in (("kt", kt), ("spr", spr), ("ndcg", ndcg)):
        assert shown == f"{float(record[column]):.3f}", f"{name}: README shows {column} {shown}, {path} has {record[column]}"


def test_readme_speed_table_equals_the_throughput_run_it_cites():
    section = _section(README, "## Speed")
    cited = RESULTS_PATH.findall(section)
    assert cited == ["benchmarks/results/throughput.md"], "the speed table cites one results file"
    text = (ROOT / cited[0]).read_text()
    command = re.search(r"`(cd benchmarks && [^`]+)`", section).group(1)
    assert command in text, "the speed table's command is not the one in throughput.md"
    run = text[text.index(command) :]
    block = run[run.index("load  workers x threads") : run.index("```", run.index("load  workers x threads"))]
    rate = {tuple(m[:3]): list(m[3:]) for m in re.findall(r"^(idle|busy)\s+(\d)x(\d)\s+engine\s+([\d.]+)\s+([\d.]+)", block, re.M)}
    ratio = {m[:3]: m[3] for m in re.findall(r"^(idle|busy)\s+(\d)x(\d) engine/naive networks per minute: ([\d.]+)x", block, re.M)}
    rows = _table_rows(section)
    assert rows
    for layout, idle_rate, idle_seconds, busy_rate, ratios in rows:
        w, t = re.fullmatch(r"(\d) × (\d)", layout).groups()
        assert [idle_rate, idle_seconds] == rate[("idle", w, t)], layout
        assert busy_rate == rate[("busy", w, t)][0], layout
        assert ratios == f"{ratio[('idle', w, t)]}× / {ratio[('busy', w, t)]}×", layout


def _parser_defaults(path: Path) -> dict[str, object]:
    """``{"--option": default}`` of every ``add_argument`` with a literal default (names from the package's
    options module resolved by reading it, so nothing is imported)."""
    constants = {}
    options = ast.parse((ROOT / "vkdnw_plugin" / "options.py").read_text())
    for node in options.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                constants[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    defaults = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument" and node.args:
            flag = node.args[0].value if isinstance(node.args[0], ast.Constant) else None
            for keyword in node.keywords:
                if keyword.arg == "default" and isinstance(flag, str):
                    value = keyword.value
                    if isinstance(value, ast.Name):
                        defaults[flag] = constants.get(value.id, "?")
                    else:
                        defaults[flag] = ast.literal_eval(value)
    return defaults


def _as_text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_docstring_states_the_parser_defaults(example):
    """A usage line's ``[--option VALUE]`` is the parser's default; run times stay out of docstrings."""
    docstring = ast.get_docstring(ast.parse(example.read_text())) or ""
    defaults = _parser_defaults(example)
    for flag, value in re.findall(r"\[(--[\w-]+)[ =]([^\]\s]+)\]", docstring):
        assert flag in defaults, f"{example.name}: docstring shows [{flag} {value}], the parser has no default for {flag}"
        assert value == _as_text(defaults[flag]), f"{example.name}: docstring says [{flag} {value}], the default is {defaults[flag]}"
    assert not re.search(r"\babout \d[\d.–-]* ?(s|min|minutes|seconds)\b", docstring, re.I), (
        f"{example.name}: run times belong in docs/examples.md, not in the docstring"
    )


def test_example_docstrings_name_every_defaulted_option():
    """Each example's usage line lists its options with their defaults, e.g. ``[--trials 10]``."""
    for example in EXAMPLES:
        docstring = ast.get_docstring(ast.parse(example.read_text())) or ""
        for flag, value in _parser_defaults(example).items():
            if value is not None:
                assert re.search(rf"\[{re.escape(flag)} {re.escape(_as_text(value))}\]", docstring), (
                    f"{example.name}: docstring lacks [{flag} {_as_text(value)}]"
                )


def test_readme_stays_a_short_guide():
    assert len(README.splitlines()) <= 300


@pytest.mark.parametrize("doc", [ROOT / "README.md", *DOCS], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_docs_describe_the_package_not_its_history(doc):
    """Machines are described by cores, threads and CPU model; no work-log vocabulary (in the prose:
    code blocks may name a proxy's ``targets`` argument)."""
    text = re.sub(r"```.*?```", "", doc.read_text(), flags=re.S)
    for pattern in (r"\bsessions?\b", r"\blent\b", r"earlier machines?", r"\bthis (machine|VM)\b", r"\bissues? #?\d", r"\btargets?\b"):
        found = re.search(pattern, text, re.I)
        assert not found, f"{doc.name}: {text[max(0, found.start() - 40) : found.end() + 40]!r}"
