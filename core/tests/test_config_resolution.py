"""Default start method resolution: code > env > pyproject > platform, with sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import last_json_line, run_python

SHOW = """
import json, procstart
r = procstart.get_start_method_source()
print(json.dumps(r.as_dict()))
"""

SAYS_GOOD = """
import procstart
from procstart_fork import ForkPopen

@procstart.hookimpl
def procstart_start_methods():
    for name in ("alpha", "beta"):
        yield procstart.StartMethod(name=name, launcher=lambda r: ForkPopen(r.process, r))
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """Two extra methods (alpha, beta) so every source can pick a different one."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "ab_plugin.py").write_text(SAYS_GOOD)
    info = site / "ab_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ab-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[procstart]\nab = ab_plugin\n")
    return site


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.procstart]\nstart-method = "alpha"\n')
    nested = root / "src" / "pkg" / "deep"
    nested.mkdir(parents=True)
    return root


def _resolve(cwd: Path, site: Path, env: dict[str, str] | None = None, code: str = "") -> dict:
    result = run_python(code + SHOW, cwd=cwd, env={"PYTHONPATH": str(site), **(env or {})})
    return last_json_line(result)


def test_pyproject_found_from_a_nested_folder(project: Path, site: Path) -> None:
    got = _resolve(project / "src" / "pkg" / "deep", site)
    assert got == {
        "method": "alpha",
        "source": "pyproject",
        "detail": str(project / "pyproject.toml"),
    }


def test_env_beats_pyproject(project: Path, site: Path) -> None:
    got = _resolve(project, site, {"PROCSTART_START_METHOD": "beta"})
    assert (got["method"], got["source"]) == ("beta", "environment")


def test_code_beats_env_and_pyproject(project: Path, site: Path) -> None:
    got = _resolve(
        project,
        site,
        {"PROCSTART_START_METHOD": "beta"},
        "import procstart\nprocstart.set_start_method('fork')\n",
    )
    assert (got["method"], got["source"]) == ("fork", "code")


def test_platform_preference_without_any_setting(tmp_path: Path, site: Path) -> None:
    empty = tmp_path / "empty"
    (empty / ".git").mkdir(parents=True)
    got = _resolve(empty, site)
    assert got["source"] == "platform"
    # forkserver > spawn > fork among what is installed; alpha/beta are never preferred
    assert got["method"] in {"forkserver", "spawn", "fork"}


def test_walk_stops_at_git_folder(tmp_path: Path, site: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.procstart]\nstart-method = "beta"\n')
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    got = _resolve(repo, site)
    assert got["source"] == "platform"


def test_pyproject_without_table_does_not_stop_the_walk(project: Path, site: Path) -> None:
    sub = project / "src"
    (sub / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    got = _resolve(sub / "pkg", site)
    assert (got["method"], got["source"]) == ("alpha", "pyproject")


def test_children_inherit_the_parents_choice(project: Path, site: Path) -> None:
    result = run_python(
        """
        import procstart
        def child(q):
            r = procstart.get_start_method_source()
            q.put((r.method, r.source))
        if __name__ == "__main__":
            q = procstart.Queue()
            p = procstart.Process(target=child, args=(q,)); p.start()
            print(*q.get(timeout=30)); p.join(30)
        """,
        cwd=project,
        env={"PYTHONPATH": str(project.parent / "site")},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["alpha", "parent"]


def test_cli_methods_says_where_the_default_came_from(project: Path, site: Path) -> None:
    result = run_python(
        "import sys; from procstart.cli import main; sys.exit(main(['methods']))",
        cwd=project,
        env={"PYTHONPATH": str(site)},
    )
    assert result.returncode == 0, result.stderr
    expected = (
        f"default: alpha (from [tool.procstart] start-method in {project / 'pyproject.toml'})"
    )
    assert expected in " ".join(result.stdout.split())  # wrapped at 100 columns
    assert "procstart-fork==0.1.0" in result.stdout


# -- errors -----------------------------------------------------------------


def _error_of(cwd: Path, site: Path, env: dict[str, str] | None = None, code: str = SHOW) -> str:
    result = run_python(code, cwd=cwd, env={"PYTHONPATH": str(site), **(env or {})})
    assert result.returncode != 0
    return result.stderr.strip().splitlines()[-1]


def test_invalid_toml_names_the_file(tmp_path: Path, site: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.procstart\nstart-method = 'fork'\n")
    err = _error_of(tmp_path, site)
    assert err.startswith(
        f"procstart.errors.ConfigError: {tmp_path / 'pyproject.toml'}: invalid TOML:"
    )


def test_wrong_type_names_file_and_dotted_key(tmp_path: Path, site: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.procstart]\nstart-method = 3\n")
    err = _error_of(tmp_path, site)
    assert err == (
        f"procstart.errors.ConfigError: {tmp_path / 'pyproject.toml'}: "
        "'tool.procstart.start-method' must be a string, got 3"
    )


def test_wrong_list_type(tmp_path: Path, site: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.procstart]\nforkserver-preload = 'numpy'\n")
    err = _error_of(tmp_path, site)
    assert err.endswith(
        "'tool.procstart.forkserver-preload' must be an array of strings, got 'numpy'"
    )


def test_misspelt_key_is_an_error_with_did_you_mean(tmp_path: Path, site: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.procstart]\nstart-method = "beta"\nstart-methd = "alpha"\n'
    )
    err = _error_of(tmp_path, site)
    assert err == (
        f"procstart.errors.ConfigError: {tmp_path / 'pyproject.toml'}: unknown key "
        "'tool.procstart.start-methd' = 'alpha'; did you mean 'tool.procstart.start-method'?"
    )


def test_unrelated_unknown_key_warns_at_its_line_and_resolution_goes_on(
    tmp_path: Path, site: Path
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.procstart]\nstart-method = "beta"\n\nsomeone-elses-option = 1\n'
    )
    result = run_python(SHOW, cwd=tmp_path, env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["method"] == "beta"
    # the warning's location is the config file and the key's line, not procstart's source
    first = result.stderr.splitlines()[0]
    assert first.startswith(
        f"{tmp_path / 'pyproject.toml'}:4: ConfigWarning: unknown key "
        "'tool.procstart.someone-elses-option': no installed plugin declares it"
    )
    assert "procstart/" not in result.stderr


def test_unknown_method_in_pyproject_is_a_config_error(tmp_path: Path, site: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.procstart]\nstart-method = "forkservr"\n')
    err = _error_of(tmp_path, site)
    assert err.startswith(
        f"procstart.errors.ConfigError: {tmp_path / 'pyproject.toml'}: "
        "'tool.procstart.start-method' = 'forkservr': "
        "unknown start method 'forkservr'; did you mean 'forkserver'? installed: alpha, beta,"
    )


def test_config_error_is_a_value_error(tmp_path: Path, site: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.procstart]\nstart-method = 3\n")
    code = """
import procstart
try:
    procstart.get_start_method()
except ValueError as exc:
    print(type(exc).__name__)
"""
    result = run_python(code, cwd=tmp_path, env={"PYTHONPATH": str(site)})
    assert result.stdout.split() == ["ConfigError"], result.stderr


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("garbage", "unknown start method 'garbage'; installed:"),
        ("späwn", "invalid start method name 'späwn'"),
        (
            "x" * 10_000,
            "invalid start method name 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx... (10000 chars)'",
        ),
    ],
)
def test_env_garbage_is_a_clear_error(
    tmp_path: Path, site: Path, value: str, expected: str
) -> None:
    err = _error_of(tmp_path, site, {"PROCSTART_START_METHOD": value})
    assert "environment variable PROCSTART_START_METHOD=" in err
    assert expected in err


def test_set_start_method_twice_raises_like_the_stdlib(tmp_path: Path, site: Path) -> None:
    code = """
import procstart
procstart.set_start_method("fork")
try:
    procstart.set_start_method("alpha")
except RuntimeError as exc:
    print("RuntimeError:", exc)
procstart.set_start_method("alpha", force=True)
print(procstart.get_start_method())
"""
    result = run_python(code, cwd=tmp_path, env={"PYTHONPATH": str(site)})
    assert result.stdout.splitlines() == ["RuntimeError: context has already been set", "alpha"]


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("123", "TypeError: start method name must be a str, not int"),
        ("b'fork'", "TypeError: start method name must be a str, not bytes"),
        ("''", "ValueError: invalid start method name ''"),
        ("'nope'", "ValueError: unknown start method 'nope'; installed:"),
    ],
)
def test_bad_names_in_code(tmp_path: Path, site: Path, arg: str, expected: str) -> None:
    err = _error_of(tmp_path, site, code=f"import procstart\nprocstart.get_context({arg})\n")
    assert expected in err
