"""The container: the Dockerfile lints clean, docker-compose.yml follows the compose spec, and the
image built from this checkout serves the bundled model to a client outside the container.

The image is built by deploy/podman-build.sh and run with podman (no Docker engine on our machines), as
in shared/CONTAINERS.md: runc runtime, a Python 3.11 base image made locally with debootstrap (no
image registry is reachable), host network and CA bundle for the build's package downloads.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from ruamel.yaml import YAML

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "localhost/brief:test"
BASE_IMAGE = "localhost/python-base:3.11"
READY_WITHIN_S = 180  # model, encoder (converted at build time) and warm-up
SIZE_BOUND = 1_600_000_000  # bytes
ARTICLE = (
    "The harbour council approved a new tide gauge on Monday. "
    "It will record the water level every minute. "
    "Fishermen say the old gauge often froze in winter. "
    "The new one is heated and reports over the mobile network."
)


def tool(name: str) -> str:
    """A command-line tool from the dev extras: beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: install the dev extras (pip install -e '.[dev]')")
    return found


def run(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(args[:4])} ... exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def podman(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    # crun, podman's default runtime, fails on cgroups on these machines; runc works.
    return run("podman", "--runtime", "runc", *args, timeout=timeout, check=check)


def container_logs(name: str) -> str:
    logs = podman("logs", name, check=False)
    return (logs.stdout + logs.stderr)[-4000:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_yaml(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def test_dockerfile_passes_hadolint():
    result = run(tool("hadolint"), "Dockerfile", check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_follows_the_compose_spec():
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "docker-compose.yml", check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_scales_the_api_trains_on_a_gpu_and_scrapes_metrics():
    services = load_yaml(ROOT / "docker-compose.yml")["services"]
    api, train = services["api"], services["train"]
    assert api["deploy"]["replicas"] >= 2
    # Replicas cannot share one fixed host port: a range, or no host port at all.
    for mapping in api["ports"]:
        host = str(mapping).rsplit(":", 1)[0] if ":" in str(mapping) else ""
        assert host == "" or "-" in host, f"fixed host port {mapping} stops the api from scaling"
    assert api["restart"] == "unless-stopped"
    assert "healthcheck" in api
    assert train["profiles"] == ["train"]
    assert train["build"]["target"] == "train"
    gpu = train["deploy"]["resources"]["reservations"]["devices"][0]
    assert (gpu["driver"], gpu["count"], gpu["capabilities"]) == ("nvidia", 1, ["gpu"])
    scrape = load_yaml(ROOT / "deploy" / "prometheus.yml")["scrape_configs"][0]
    assert scrape["metrics_path"] == "/metrics"
    assert scrape["dns_sd_configs"][0]["names"] == ["api"] and scrape["dns_sd_configs"][0]["port"] == 8000


@pytest.fixture(scope="module")
def image() -> str:
    """The service image built from this checkout by deploy/podman-build.sh (a debootstrap base made once,
    layers cached between runs: CI starts the same build while it installs the venv)."""
    if shutil.which("podman") is None or shutil.which("runc") is None:
        pytest.skip("podman or runc is not installed (apt-get install -y podman runc debootstrap)")
    if not (ROOT / "models" / "brief.h5").is_file():
        pytest.fail("models/brief.h5 is missing: the image serves the bundled model (make train)")
    info = podman("info", check=False)
    if info.returncode != 0:
        pytest.skip(f"podman cannot run here: {info.stderr.strip()[-500:]}")
    if podman("image", "exists", BASE_IMAGE, check=False).returncode != 0 and (
            shutil.which("debootstrap") is None or os.geteuid() != 0):
        pytest.skip(f"no {BASE_IMAGE} image, and debootstrap (as root) is not available to make it")
    run("bash", "deploy/podman-build.sh", IMAGE, timeout=1800)
    return IMAGE


@pytest.fixture(scope="module")
def base_image(image: str) -> str:
    """The local Python 3.11 base image that deploy/podman-build.sh made for the service image."""
    return BASE_IMAGE


@pytest.fixture(scope="module")
def container(image: str):
    """The image running detached with port 8000 published; yields (name, base URL) once ready."""
    name, port = f"brief-test-{uuid.uuid4().hex[:8]}", free_port()
    podman("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8000", "-e", "BRIEF_WORKERS=1", image)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_WITHIN_S
        while True:
            state = podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
            if state != "running":
                pytest.fail(f"container {state}:\n{container_logs(name)}")
            try:
                ready = requests.get(f"{url}/api/ready", timeout=5)
            except (requests.ConnectionError, requests.Timeout):  # no worker accepts before its model is loaded
                ready = None
            if ready is not None and ready.status_code == 200:
                break
            if ready is not None and "not loaded" in ready.text:  # failed for good, no use waiting
                pytest.fail(f"{ready.text}\n{container_logs(name)}")
            if time.monotonic() > deadline:
                pytest.fail(f"not ready within {READY_WITHIN_S} s:\n{container_logs(name)}")
            time.sleep(2)
        yield name, url
    finally:
        podman("rm", "--force", "--time", "5", name, check=False)


def test_health_answers_from_outside_the_container(container):
    _, url = container
    response = requests.get(f"{url}/api/health", timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_evaluate_scores_every_sentence_of_a_plain_text_article(container):
    _, url = container
    response = requests.post(f"{url}/api/evaluate?top=2", data=ARTICLE.encode(),
                             headers={"Content-Type": "text/plain; charset=utf-8"}, timeout=60)
    assert response.status_code == 200, response.text
    result = response.json()
    sentences = result["scored_article_sentences"]
    assert len(sentences) == 4
    assert all(ARTICLE[s["start"]:s["end"]] == s["sent"] for s in sentences)
    assert all(0.0 <= s["score"] <= 1.0 for s in sentences)
    assert len(result["highlights"]) == 2


def test_evaluate_accepts_a_json_article(container):
    _, url = container
    response = requests.post(f"{url}/api/evaluate", json={"text": ARTICLE, "top": 1}, timeout=60)
    assert response.status_code == 200, response.text
    assert len(response.json()["highlights"]) == 1


def test_metrics_count_the_requests(container):
    _, url = container
    requests.get(f"{url}/api/health", timeout=10)
    response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    assert "brief_requests" in response.text


def test_service_runs_as_a_non_root_user(container):
    name, _ = container
    assert podman("exec", name, "id", "-u").stdout.strip() != "0"
    # gunicorn itself, not only a fresh exec: PID 1 is the server.
    status = podman("exec", name, "cat", "/proc/1/status").stdout
    uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
    assert uid != "0"


def test_image_healthcheck_passes(container):
    name, _ = container
    assert podman("healthcheck", "run", name, check=False).returncode == 0


def test_image_has_no_compiler_or_pip_cache(image):
    found = podman("run", "--rm", "--user", "0", "--entrypoint", "sh", image, "-c",
                   "command -v gcc cc g++ make; ls -A /root/.cache/pip /home/brief/.cache/pip 2>/dev/null; true").stdout
    assert found.strip() == ""
    size = int(json.loads(podman("image", "inspect", image).stdout)[0]["Size"])
    # 2.63 GB while it carried TensorFlow to convert the encoder at each start (2026-12-08)
    assert size < SIZE_BOUND, f"image is {size / 1e9:.2f} GB"


def test_image_serves_without_tensorflow_from_the_encoder_converted_at_build_time(image, container):
    name, _ = container
    found = podman("run", "--rm", "--entrypoint", "python3", image, "-c",
                   "import importlib.util as u; print([m for m in ('tensorflow', 'keras', 'keras_hub') if u.find_spec(m)])")
    assert found.stdout.strip() == "[]"
    log = container_logs(name)
    assert "converting the encoder" not in log, log
