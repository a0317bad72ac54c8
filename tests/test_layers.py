"""The layers point one way: config <- store <- bot, cli (the command line may start the bot).

Read from the source with ast, so an import hidden inside a function (a lazy import) counts too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import store

ROOT = Path(__file__).resolve().parent.parent


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) for every import in the file; names is empty for ``import x``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
    return found


def _offences(packages: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for package in packages
        for path in _modules(package)
        for line, module, _names in _imports(path)
        if module.split(".")[0] in forbidden
    ]


def test_fronts_import_only_the_store_package_itself() -> None:
    reaching = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for package in ("bot", "cli")
        for path in _modules(package)
        for line, module, _names in _imports(path)
        if module.startswith("store.")
    ]
    assert reaching == []


def test_fronts_import_only_public_names_of_the_store() -> None:
    private = [
        f"{path.relative_to(ROOT)}:{line} imports {name} from store"
        for package in ("bot", "cli")
        for path in _modules(package)
        for line, module, names in _imports(path)
        if module == "store"
        for name in names
        if name not in store.__all__
    ]
    assert private == []


def test_store_and_config_import_no_front() -> None:
    assert _offences(("store", "config"), ("bot", "cli")) == []


def test_config_imports_no_store() -> None:
    assert _offences(("config",), ("store",)) == []


def test_bot_does_not_import_the_command_line() -> None:
    assert _offences(("bot",), ("cli",)) == []


@pytest.mark.parametrize(("one", "other"), [("bot/client.py", "bot.views"), ("bot/views.py", "bot.client")])
def test_client_and_views_do_not_import_each_other(one: str, other: str) -> None:
    assert [module for _line, module, _names in _imports(ROOT / one) if module == other] == []


def test_every_public_name_of_the_store_resolves() -> None:
    for name in store.__all__:
        assert getattr(store, name) is not None, name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = store.repository_of_nothing  # type: ignore[attr-defined]


def test_importing_the_store_package_imports_none_of_its_modules() -> None:
    """A front that names one thing pays for that thing only (--help and health stay quick)."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, store; print(sorted(m for m in sys.modules if m.startswith('store.')))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.strip()
    assert loaded == "[]"


def test_the_schema_module_holds_every_table_the_database_creates() -> None:
    """The digest tables sit beside SCHEMA_VERSION; nothing is imported only for its side effect."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, store.database as d; "
            "print('digest_runs' in d.metadata.tables, 'store.digest.schema' in sys.modules, 'store.digest' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.strip()
    assert loaded == "True False False"


def test_python_dash_m_bot_starts_the_bot_not_the_command_line() -> None:
    """Without a token the bot refuses at once with the settings' exit code, as `insight-recall run` does."""
    finished = subprocess.run(
        [sys.executable, "-m", "bot"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "INSIGHT_DISCORD_TOKEN": "", "INSIGHT_DATA_DIR": str(ROOT / ".no-such-data")},
        timeout=120,
    )
    assert finished.returncode == 2, finished.stderr
    assert "token" in finished.stderr.lower()
    assert "Usage:" not in finished.stdout


def _is_number(node: ast.expr) -> bool:
    if isinstance(node, ast.IfExp):
        return _is_number(node.body) or _is_number(node.orelse)
    return isinstance(node, ast.Constant) and isinstance(node.value, int)


def test_fronts_exit_through_the_one_exit_code_enum() -> None:
    """Exit codes are ExitCode members, not numbers written where the command ends."""
    bare = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for package in ("bot", "cli")
        for path in _modules(package)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "exit"
        and any(_is_number(argument) for argument in node.args)
    ]
    assert bare == []


def test_one_helper_opens_the_store_for_every_command() -> None:
    """Commands hand their work to cli.resources.with_store; none opens and closes the store itself."""
    opening = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _modules("cli")
        if path.name != "resources.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Name) and node.id == "open_store"
    ]
    assert opening == []


# The seam. The lexical index is
# still written and read in the repository through its dialect name (not by reading .dialect).
DIALECT_SEAM = {"store/sql_dialect.py"}


def test_only_the_dialect_seam_tells_sqlite_from_postgresql() -> None:
    reading = []
    for path in _modules("store"):
        name = str(path.relative_to(ROOT))
        if name in DIALECT_SEAM:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "dialect":
                reading.append(f"{name}:{node.lineno} reads .dialect")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy.dialects"):
                reading.append(f"{name}:{node.lineno} imports {node.module}")
            elif isinstance(node, ast.Import) and any(alias.name.startswith("sqlalchemy.dialects") for alias in node.names):
                reading.append(f"{name}:{node.lineno} imports sqlalchemy.dialects")
    assert reading == []


# `run` prints no result (it runs the bot); `saved export` prints the export itself, in --format json too.
WITHOUT_JSON = {"run", "saved export"}


def test_every_command_that_prints_a_result_offers_json() -> None:
    import click

    from cli.main import cli

    def commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
        found: list[tuple[str, click.Command]] = []
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                found.extend(commands(command, f"{prefix}{name} "))
            else:
                found.append((f"{prefix}{name}", command))
        return found

    missing = [
        name
        for name, command in commands(cli)
        if name not in WITHOUT_JSON and not any("--json" in getattr(parameter, "opts", []) for parameter in command.params)
    ]
    assert missing == []
