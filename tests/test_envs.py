"""The conda envs parse and pin the same versions as pyproject.toml; every rule names one."""

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _pyproject_pins() -> dict[str, str]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    deps = data["project"]["dependencies"] + sum(data["project"]["optional-dependencies"].values(), [])
    pins = {}
    for d in deps:
        name, version = d.split("==")
        pins[name.lower().replace("_", "-")] = version
    return pins


def _env_pins(path: Path) -> dict[str, str]:
    env = yaml.safe_load(path.read_text())
    pins = {}
    for dep in env["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            m = re.match(r"^([A-Za-z0-9_.\-]+)\s*==?\s*([^\s]+)$", item)
            if m and m.group(1) != "python":
                pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_envs_parse_and_match_pyproject():
    pins = _pyproject_pins()
    envs = sorted((REPO / "envs").glob("*.yaml"))
    assert envs
    for env in envs:
        env_pins = _env_pins(env)
        assert env_pins, env
        for name, version in env_pins.items():
            assert name in pins, f"{env.name}: {name} is not a dependency in pyproject.toml"
            assert pins[name] == version, f"{env.name}: {name}={version} but pyproject pins {pins[name]}"


def test_every_rule_has_a_conda_env_that_exists():
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        text = smk.read_text()
        n_rules = len(re.findall(r"^rule \w+:", text, flags=re.M))
        envs = re.findall(r'conda:\s*\n\s*"([^"]+)"', text)
        assert len(envs) == n_rules, f"{smk.name}: {n_rules} rules, {len(envs)} conda: directives"
        for e in envs:
            assert (smk.parent / e).resolve().exists(), f"{smk.name}: {e} missing"
