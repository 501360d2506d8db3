"""docker-compose.yml: valid, self-consistent, and every variable it reads is documented."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def test_compose_file_validates_with_docker_compose() -> None:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is missing: `make test` installs it (apt-get docker-compose)"
    out = subprocess.run(
        [binary, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr


def test_every_build_context_and_dockerfile_exists() -> None:
    builds = [s["build"] for s in _compose()["services"].values() if "build" in s]
    assert builds, "no service builds the klaxon image"
    for build in builds:
        context = ROOT / build["context"]
        assert context.is_dir(), context
        assert (context / build.get("dockerfile", "Dockerfile")).is_file()


def test_every_variable_the_compose_file_reads_is_documented_in_the_readme() -> None:
    names = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    assert "KLAXON_OKX_API_KEY" in names
    readme = (ROOT / "README.md").read_text()
    missing = sorted(n for n in names if n not in readme)
    assert missing == [], f"document these in README.md: {missing}"


def test_the_image_carries_no_secret() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert not re.search(r"(?i)^\s*(ENV|ARG)\s+\S*(KEY|SECRET|PASS|TOKEN)", dockerfile, re.M)
    services = _compose()["services"]
    for name in ("watcher",):
        env = services[name]["environment"]
        assert "KLAXON_OKX_SECRET_KEY" not in env, "the secret key comes as a docker secret"
        assert "klaxon_okx_secret_key" in services[name]["secrets"]
