"""The conda envs parse and pin the same versions as requirements/constraints.txt; every rule names one, and that env provides
every package the rule's script can import. The envs are not built here (no conda channel is reachable from the
build machine): what is checked is the envs' package lists against the code's imports and the constraints' pins."""

import ast
import functools
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def _constraint_pins() -> dict[str, str]:
    """The exact versions the pipeline runs with (requirements/constraints.txt, which `make` installs with)."""
    pins = {}
    for line in (REPO / "requirements" / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower().replace("_", "-")] = version.split("+")[0].strip()
    return pins


def _env_pins(path: Path) -> dict[str, str]:
    env = yaml.safe_load(path.read_text())
    pins = {}
    for dep in env["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            m = re.match(r"^([A-Za-z0-9_.\-]+)\s*==?\s*([^\s+]+)(\+cpu)?$", item)
            if m and m.group(1) != "python":
                pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_envs_parse_and_match_the_constraints():
    pins = _constraint_pins()
    envs = sorted((REPO / "envs").glob("*.yaml"))
    assert envs
    for env in envs:
        env_pins = _env_pins(env)
        assert env_pins, env
        for name, version in env_pins.items():
            assert name in pins, f"{env.name}: {name} is not pinned in requirements/constraints.txt"
            assert pins[name] == version, f"{env.name}: {name}={version} but the constraints pin {pins[name]}"


RULES = REPO / "workflow" / "rules"
SRC = REPO / "src"
#: the env files a `conda: TORCH_ENV` rule can get (workflow/rules/common.smk picks one by use_gpu / device)
TORCH_ENVS = ("../../envs/torch.yaml", "../../envs/torch-cpu.yaml")


def _rules() -> dict[str, tuple[list[Path], Path | None]]:
    """rule → (its possible conda env files, its script or None)."""
    out = {}
    for smk in RULES.glob("*.smk"):
        for block in re.split(r"^rule ", smk.read_text(), flags=re.M)[1:]:
            name = block.split(":")[0]
            env = re.search(r'conda:\s*\n\s*("([^"]+)"|TORCH_ENV)', block)
            script = re.search(r'script:\s*\n\s*"([^"]+)"', block)
            envs = [] if env is None else TORCH_ENVS if env.group(1) == "TORCH_ENV" else [env.group(2)]
            out[name] = ([(RULES / e).resolve() for e in envs], (RULES / script.group(1)).resolve() if script else None)
    return out


def test_every_rule_has_a_conda_env_that_exists():
    rules = _rules()
    assert len(rules) >= 70
    for rule, (envs, _) in rules.items():
        assert envs, f"rule {rule} has no conda: directive"
        for e in envs:
            assert e.exists(), f"rule {rule}: {e} missing"


def _module_file(name: str) -> Path | None:
    p = SRC.joinpath(*name.split("."))
    return p / "__init__.py" if (p / "__init__.py").exists() else p.with_suffix(".py") if p.with_suffix(".py").exists() \
        else None


@functools.lru_cache(maxsize=None)
def _imports(path: Path, package: str) -> frozenset[str]:
    """Every module ``path`` imports, at module level or inside a function (absolute names), and every package it
    locates with importlib.util.find_spec("name") (data packages such as pyenrichr's gene set files)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names if _module_file(f"{mod}.{a.name}")}
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "find_spec" and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            out.add(node.args[0].value)
    return frozenset(out)


def third_party_imports(script: Path) -> set[str]:
    """The top-level third-party modules a workflow script can import: its own imports and, through the library
    (``attrpriors.*``, followed transitively, each package's ``__init__`` included), every import the library
    makes anywhere, also inside functions (a superset: a paper-scale code path cannot be missed)."""
    seen, third, todo = set(), set(), [(script, "")]
    while todo:
        path, package = todo.pop()
        for mod in _imports(path, package):
            parts = mod.split(".")
            if parts[0] == "attrpriors":
                for i in range(1, len(parts) + 1):
                    name = ".".join(parts[:i])
                    f = _module_file(name)
                    if f and name not in seen:
                        seen.add(name)
                        todo.append((f, name if f.name == "__init__.py" else name.rsplit(".", 1)[0]))
            elif parts[0] and parts[0] not in sys.stdlib_module_names:
                third.add(parts[0])
    return third


def _env_packages(path: Path) -> set[str]:
    env = yaml.safe_load(path.read_text())
    names = set()
    for dep in env["dependencies"]:
        for item in dep["pip"] if isinstance(dep, dict) else [dep]:
            if not item.startswith("-"):
                names.add(re.split(r"[=<>\s]", item)[0].lower().replace("_", "-"))
    return names


@functools.lru_cache(maxsize=None)
def _module_distributions() -> dict[str, list[str]]:
    return packages_distributions()


def _distributions(module: str) -> set[str]:
    return {d.lower().replace("_", "-") for d in _module_distributions().get(module, [module])}


def test_every_rule_env_provides_every_package_its_script_can_import():
    """For every rule with a script: each third-party module its script can reach (statically, the library's
    function-level imports included) belongs to a distribution its conda env declares, in every variant."""
    missing = {}
    for rule, (envs, script) in sorted(_rules().items()):
        if script is None:
            continue
        needed = {d for m in third_party_imports(script) for d in _distributions(m)}
        for env in envs:
            lack = needed - _env_packages(env)
            if lack:
                missing[f"{rule} ({env.name})"] = sorted(lack)
    assert not missing, missing
    # negative control: the lighter rnaseq env cannot run the DNA rules (no pyjaspar, h5py, logomaker)
    dna = {d for m in third_party_imports(REPO / "workflow/scripts/dna_consistency_data.py") for d in _distributions(m)}
    assert {"pyjaspar", "h5py"} <= dna - _env_packages(REPO / "envs/rnaseq.yaml")


def test_the_import_analysis_finds_what_a_rule_needs():
    """Positive controls: packages imported only inside library functions, or located with find_spec, are found."""
    dna = third_party_imports(REPO / "workflow/scripts/dna_consistency_data.py")
    assert {"pyjaspar", "h5py", "torch", "numpy"} <= dna  # pyjaspar, h5py: inside functions
    sweep = third_party_imports(REPO / "workflow/scripts/graph_prior_sweep_cell.py")
    assert {"pyenrichr", "gseapy", "inmoose"} <= sweep  # pyenrichr: find_spec only
    assert "logomaker" in third_party_imports(REPO / "workflow/scripts/dna_consistency_figure_logos.py")


@pytest.mark.parametrize("use_gpu,device,env", [(False, "auto", "torch-cpu.yaml"), (False, "cpu", "torch-cpu.yaml"),
                                                (True, "auto", "torch.yaml"), (False, "cuda:1", "torch.yaml")])
def test_the_torch_env_variant_follows_the_gpu_settings(use_gpu, device, env):
    text = (RULES / "common.smk").read_text()
    expr = re.search(r"TORCH_ENV = \((.*?)\n\)", text, re.S).group(1)
    assert eval(f"({expr})", {"config": {"use_gpu": use_gpu, "device": device}}).endswith(env)  # noqa: S307


def test_the_cpu_and_cuda_torch_envs_differ_only_in_the_wheel():
    def lines(name):
        env = yaml.safe_load((REPO / "envs" / name).read_text())
        return [d for d in env["dependencies"] if not isinstance(d, dict)], sorted(
            i for d in env["dependencies"] if isinstance(d, dict) for i in d["pip"])
    (conda_gpu, pip_gpu), (conda_cpu, pip_cpu) = lines("torch.yaml"), lines("torch-cpu.yaml")
    assert conda_gpu == conda_cpu
    assert set(pip_cpu) - set(pip_gpu) == {"--extra-index-url https://download.pytorch.org/whl/cpu",
                                            "torch==2.13.0+cpu"}
    assert set(pip_gpu) - set(pip_cpu) == {"torch==2.13.0"}
