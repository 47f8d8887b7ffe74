"""pyproject.toml's environment markers give every desktop platform the
dependencies it can install (issue 16), checked offline: each target's PEP
508 environment is evaluated against the markers. packaging/check_platforms.py
resolves the same targets against the package index."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from packaging.requirements import Requirement

tomllib = pytest.importorskip("tomllib")

CHECKOUT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("check_platforms", CHECKOUT / "packaging" / "check_platforms.py")
check_platforms = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_platforms)


def requirements(extra: str | None = None) -> list[Requirement]:
    project = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["project"]
    listed = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return [Requirement(line) for line in listed]


def installed_on(environment: dict, extra: str | None = None) -> dict[str, str]:
    """{package: specifier} of what pip would install on that machine."""
    env = {"python_version": "3.11", "python_full_version": "3.11.7", "platform_system": "", "os_name": "",
           "platform_release": "", "platform_version": "", "platform_python_implementation": "CPython",
           "implementation_name": "cpython", "implementation_version": "3.11.7", "extra": "", **environment}
    return {r.name.lower(): str(r.specifier) for r in requirements(extra) if r.marker is None or r.marker.evaluate(env)}


@pytest.mark.parametrize("target", list(check_platforms.TARGETS))
def test_each_platform_gets_the_builds_that_exist_for_it(target):
    _uv_name, environment, expected = check_platforms.TARGETS[target]
    got = installed_on(environment)
    assert set(got) & check_platforms.CHECKED == expected
    assert {"numpy", "pillow", "opencv-python-headless"} <= set(got)
    if "torch" in got:  # a range, so that a newer torch the user has stands
        assert got["torch"] == "<3,>=2.13"


def test_the_test_extra_pins_the_torch_ci_installs_only_where_torch_exists():
    assert installed_on({"sys_platform": "linux", "platform_machine": "x86_64"}, "test")["torch"] == "==2.13.0"
    assert "torch" not in installed_on({"sys_platform": "darwin", "platform_machine": "x86_64"}, "test")

