"""Configuration and method-name errors: one kind of error, honest suggestions.

Each test runs a real interpreter (``run_python``) or the installed console
script, with plugins installed as ``.dist-info`` folders on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import run_python

DECLARES = """
import procstart.plugin as psp

@psp.hookimpl
def procstart_config_keys():
    yield psp.ConfigKey(name="shared-key", type=int, description="{who}'s key")
"""


def _dist(site: Path, module: str, dist: str, code: str) -> None:
    (site / f"{module}.py").write_text(code)
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[procstart]\n{module} = {module}\n")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    return root


def _cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    code = f"import sys; from procstart.cli import main; sys.exit(main({list(args)!r}))"
    return run_python(code, cwd=cwd, env=env)


def _last_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    return result.stderr.strip().splitlines()[-1]


# -- unknown method names: did-you-mean, never a made-up package ------------------


def test_typo_gets_did_you_mean_and_no_install_suggestion(project: Path) -> None:
    err = _last_error(run_python("import procstart; procstart.get_context('spwn')", cwd=project))
    assert err.startswith(
        "ValueError: unknown start method 'spwn'; did you mean 'spawn'? installed:"
    )
    assert "pip install" not in err


def test_garbage_name_gets_neither_suggestion_nor_package(project: Path) -> None:
    err = _last_error(run_python("import procstart; procstart.get_context('zzqx')", cwd=project))
    assert err.startswith("ValueError: unknown start method 'zzqx'; installed: ")
    assert {"fork", "forkserver", "spawn"} <= set(err.rpartition("installed: ")[2].split(", "))
    assert "did you mean" not in err and "pip install" not in err


def test_published_but_missing_distribution_is_suggested(project: Path) -> None:
    # procstart-forkserver is a distribution this project publishes; with only
    # the fork plugin loaded it is missing, and its real package is named
    code = """
import procstart, procstart_fork
procstart.register_plugin(procstart_fork)
procstart.get_context("forkserver")
"""
    env = {"PROCSTART_DISABLE_PLUGIN_AUTOLOAD": "1"}
    err = _last_error(run_python(code, cwd=project, env=env))
    assert err.startswith(
        "ValueError: start method 'forkserver' is not installed "
        "(pip install procstart-forkserver); installed: fork"
    )


def test_typo_of_a_builtin_that_is_not_installed(project: Path) -> None:
    """With no plugin loaded, a typo still gets the built-in name and its real package."""
    code = """
import procstart
from procstart_fork import ForkPopen

class Only:
    @procstart.hookimpl
    def procstart_start_methods(self):
        yield procstart.StartMethod(name="mine", launcher=lambda r: ForkPopen(r.process, r))

procstart.register_plugin(Only())
procstart.get_context("forkservr")
"""
    err = _last_error(run_python(code, cwd=project, env={"PROCSTART_DISABLE_PLUGIN_AUTOLOAD": "1"}))
    assert err == (
        "ValueError: unknown start method 'forkservr'; did you mean 'forkserver'? "
        "(not installed: pip install procstart-forkserver) installed: mine"
    )


def test_no_method_installed_names_only_real_packages(project: Path) -> None:
    env = {"PROCSTART_DISABLE_PLUGIN_AUTOLOAD": "1"}
    err = _last_error(
        run_python("import procstart; procstart.get_context('spwn')", cwd=project, env=env)
    )
    assert err == (
        "procstart.errors.NoStartMethodError: no start method is installed (asked for 'spwn'): "
        "procstart is only the core; install one: "
        "pip install procstart-spawn procstart-fork procstart-forkserver"
    )
    listing = _cli("methods", cwd=project, env=env)
    assert listing.returncode == 0, listing.stderr
    assert "pip install procstart-spawn procstart-fork procstart-forkserver" in listing.stdout


# -- one declaration per key -------------------------------------------------------


def test_key_declared_by_two_distributions_names_both(project: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _dist(site, "keys_one", "procstart-keys-one", DECLARES.format(who="one"))
    _dist(site, "keys_two", "procstart-keys-two", DECLARES.format(who="two"))
    (project / "pyproject.toml").write_text("[tool.procstart]\nshared-key = 1\n")
    env = {"PYTHONPATH": str(site)}
    err = _last_error(
        run_python("import procstart; procstart.get_start_method()", cwd=project, env=env)
    )
    assert "[tool.procstart] key 'shared-key' is declared twice, by " in err
    assert "procstart-keys-one==1.0" in err and "procstart-keys-two==1.0" in err
    result = _cli("config", cwd=project, env=env)
    assert result.returncode == 1
    assert "procstart config: [tool.procstart] key 'shared-key' is declared twice" in result.stderr


def test_declared_keys_come_through_pluggy_with_their_distribution(
    project: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _dist(site, "keys_one", "procstart-keys-one", DECLARES.format(who="one"))
    code = """
import json
from procstart import config
keys = config.declared_keys()
print(json.dumps({name: d.distribution for name, d in keys.items()}))
"""
    result = run_python(code, cwd=project, env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    owners = json.loads(result.stdout)
    assert owners["start-method"] == "procstart"
    assert owners["shared-key"] == "procstart-keys-one"
    assert owners["forkserver-preload"] == "procstart-forkserver"
    assert owners["spawn-fast-exit"] == "procstart-spawn"


# -- PROCSTART_* variables of plugins' keys -----------------------------------------


def test_plugin_variable_beats_the_file_and_is_shown(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.procstart]\nspawn-fast-exit = true\n")
    result = _cli("config", "--json", cwd=project, env={"PROCSTART_SPAWN_FAST_EXIT": "off"})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    keys = {entry["key"]: entry for entry in data["keys"]}
    assert keys["spawn-fast-exit"] == {
        **keys["spawn-fast-exit"],
        "value": False,
        "source": "environment",
        "detail": "PROCSTART_SPAWN_FAST_EXIT=off",
    }
    assert keys["spawn-fast-startup"] == {
        **keys["spawn-fast-startup"],
        "value": False,
        "source": "default",
    }
    assert data["environment"]["PROCSTART_SPAWN_FAST_EXIT"]["value"] == "off"
    assert data["environment"]["PROCSTART_SPAWN_FAST_EXIT"]["declared_by"] == "procstart-spawn"
    assert data["environment"]["PROCSTART_SPAWN_FAST_STARTUP"]["value"] is None


def test_plugin_variable_that_does_not_parse_is_a_config_error(project: Path) -> None:
    env = {"PROCSTART_SPAWN_FAST_EXIT": "maybe"}
    result = _cli("config", cwd=project, env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "procstart config: environment variable PROCSTART_SPAWN_FAST_EXIT='maybe': "
        "expected 1/true/yes/on or 0/false/no/off (for spawn-fast-exit)"
    )
    code = "import procstart.plugin; procstart.plugin.config_value('spawn-fast-exit')"
    err = _last_error(run_python(code, cwd=project, env=env))
    assert err.startswith("procstart.errors.ConfigError: environment variable PROCSTART_SPAWN_FAST")


# -- the CLI says when the configuration is broken ------------------------------------


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('start-method = "spwn"', "'tool.procstart.start-method' = 'spwn': unknown start method"),
        ("forkserver-preload = 'numpy'", "'tool.procstart.forkserver-preload' must be an array"),
        ('start-methd = "fork"', "did you mean 'tool.procstart.start-method'?"),
    ],
)
def test_methods_and_config_exit_non_zero_on_broken_config(
    project: Path, table: str, expected: str
) -> None:
    (project / "pyproject.toml").write_text(f"[tool.procstart]\n{table}\n")
    methods = _cli("methods", cwd=project)
    assert methods.returncode == 1
    assert "procstart methods: broken configuration: " in methods.stderr
    assert expected in methods.stderr
    assert _cli("methods", "--json", cwd=project).returncode == 1
    config = _cli("config", cwd=project)
    assert config.returncode == 1
    assert config.stderr.startswith(f"procstart config: {project / 'pyproject.toml'}: ")
    assert expected in config.stderr


def test_methods_fits_100_columns(project: Path) -> None:
    result = _cli("methods", cwd=project)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(" spawn " in line for line in lines)  # the long state line is there
    assert max(len(line) for line in lines) <= 100, "\n".join(
        line for line in lines if len(line) > 100
    )


def test_console_script_config_markdown(project: Path) -> None:
    script = Path(sys.executable).with_name("procstart")
    done = subprocess.run(
        [str(script), "config", "--markdown"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "| `spawn-fast-exit` | boolean | `true` | `PROCSTART_SPAWN_FAST_EXIT` |" in done.stdout


def test_keys_of_a_plugin_registered_at_run_time_are_read_and_checked(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.procstart]\nmine-level = 'high'\n")
    code = """
import warnings
import procstart, procstart.plugin as psp
from procstart import config

class Mine:
    @psp.hookimpl
    def procstart_config_keys(self):
        yield psp.ConfigKey(name="mine-level", type=int, default=1, description="a level")

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print(psp.config_value("mine-level", 0))  # not declared yet: the file's value, a warning
print([str(w.message).split(":")[0] for w in caught])
procstart.register_plugin(Mine(), name="mine")
config.project_file()
try:
    psp.config_value("mine-level")
except procstart.ConfigError as exc:
    print(exc)
"""
    result = run_python(code, cwd=project)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["high", "[\"unknown key 'tool.procstart.mine-level'\"]"]
    # the table was already checked; a key declared later is checked when read
    assert lines[2:] == [
        f"{project / 'pyproject.toml'}: 'tool.procstart.mine-level' must be an integer, got 'high'"
    ]


def test_variables_parse_as_the_declared_type(project: Path) -> None:
    code = """
import json, procstart, procstart.plugin as psp

class Typed:
    @psp.hookimpl
    def procstart_config_keys(self):
        yield psp.ConfigKey(name="t-count", type=int, env="PROCSTART_T_COUNT", default=1)
        yield psp.ConfigKey(name="t-mods", type=list, env="PROCSTART_T_MODS", default=[])
        yield psp.ConfigKey(name="t-ratio", type=float, env="PROCSTART_T_RATIO")

procstart.register_plugin(Typed(), name="typed")
print(json.dumps([psp.config_value(k) for k in ("t-count", "t-mods", "t-ratio")]))
"""
    env = {
        "PROCSTART_T_COUNT": " 7 ",
        "PROCSTART_T_MODS": "numpy, pandas,",
        "PROCSTART_T_RATIO": "0.5",
    }
    result = run_python(code, cwd=project, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [7, ["numpy", "pandas"], 0.5]
    result = run_python(code, cwd=project, env={**env, "PROCSTART_T_COUNT": "seven"})
    assert _last_error(result) == (
        "procstart.errors.ConfigError: environment variable PROCSTART_T_COUNT='seven': "
        "expected an integer (for t-count)"
    )


def test_bad_declarations_name_the_distribution(project: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    bad = "import procstart.plugin as psp\n\n@psp.hookimpl\ndef procstart_config_keys():\n"
    _dist(site, "keys_bad", "procstart-keys-bad", bad + "    yield 'not-a-key'\n")
    code = "from procstart import config; config.declared_keys()"
    err = _last_error(run_python(code, cwd=project, env={"PYTHONPATH": str(site)}))
    assert err == (
        "TypeError: procstart-keys-bad==1.0: procstart_config_keys must yield "
        "procstart.plugin.ConfigKey objects, got str"
    )
    code = "import procstart.plugin as psp; psp.ConfigKey(name='x', type=dict)"
    err = _last_error(run_python(code, cwd=project))
    assert err.startswith("TypeError: ConfigKey 'x': type must be str, bool, int, float or list")
