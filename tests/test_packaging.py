"""pyproject.toml (pip install -e ., the retrofleet command) and requirements.txt
(Docker builds, CI) pin the same runtime dependencies."""
from __future__ import annotations

import tomllib
from importlib.metadata import entry_points

from tests.conftest import REPO


def normalized(requirement: str) -> str:
    return "".join(requirement.split()).lower()


def requirements_txt() -> set[str]:
    lines = (line.split("#", 1)[0] for line in (REPO / "requirements.txt").open())
    return {normalized(line) for line in lines if line.strip()}


def test_pyproject_pins_the_same_dependencies_as_requirements_txt():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert {normalized(d) for d in project["dependencies"]} == requirements_txt()
    assert project["scripts"] == {"retrofleet": "services.cli:main"}


def test_the_installed_package_is_this_checkout():
    """setup installs it editable: the console script points at services.cli here."""
    [script] = entry_points(group="console_scripts", name="retrofleet")
    assert script.value == "services.cli:main"
    assert script.load().__module__ == "services.cli"
    import services.cli
    assert services.cli.__file__ == str(REPO / "services" / "cli.py")
