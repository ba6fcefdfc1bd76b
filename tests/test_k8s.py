"""deploy/k8s: valid for the Kubernetes schemas of the version we name, hardened, and it runs.

The manifests are checked against the API schemas of Kubernetes 1.34 (and the newest that
kubernetes-validate ships), strictly: an unknown field fails. Then `podman kube play` runs the
Deployment here with the images built from this checkout: the code image (the Dockerfile) and the
model image (deploy/model.Dockerfile, built from a copy of the model under its own card id, so
that a served answer proves the model came from the model image through the init container).
podman runs the pods of a Deployment and skips the Service, HPA and PDB, which only the schema
check covers (../shared/CONTAINERS.md).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests
import yaml

from app.settings import PREFIX, Settings
from tests.test_container import ARTICLE, base_image, free_port, image, podman, tool  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
K8S_VERSIONS = ("1.34.0", "1.37.0")  # the version we support from, and kubernetes-validate's newest
MANIFESTS = sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")
MODEL_IMAGE = "localhost/brief-model:test"


def documents() -> dict[str, dict]:
    """Every manifest of the base by kind (each kind once)."""
    docs = {}
    for path in sorted((K8S / "base").glob("*.yaml")):
        if path.name != "kustomization.yaml":
            for doc in yaml.safe_load_all(path.read_text()):
                docs.setdefault(doc["kind"], []).append(doc)
    return docs


def deployment() -> dict:
    return documents()["Deployment"][0]


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_manifests_validate_strictly_against_the_kubernetes_schemas(version):
    result = subprocess.run([tool("kubernetes-validate"), "--strict", "-k", version, *map(str, MANIFESTS)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count("passed") == sum(len(list(yaml.safe_load_all(p.read_text()))) for p in MANIFESTS)


def test_base_has_every_part_and_the_kustomizations_name_only_files_that_exist():
    kinds = {kind: len(docs) for kind, docs in documents().items()}
    assert kinds == {"ConfigMap": 2, "Deployment": 1, "Service": 1, "HorizontalPodAutoscaler": 1,
                     "PodDisruptionBudget": 1}
    for kustomization in K8S.rglob("kustomization.yaml"):
        for resource in yaml.safe_load(kustomization.read_text())["resources"]:
            assert (kustomization.parent / resource).exists(), f"{kustomization}: {resource}"
    overlay = yaml.safe_load((K8S / "overlays" / "production" / "kustomization.yaml").read_text())
    assert {i["name"] for i in overlay["images"]} == {"localhost/brief", "localhost/brief-model"}


def test_pods_run_hardened():
    pod = deployment()["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    for container in pod["containers"] + pod["initContainers"]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        assert "memory" in container["resources"]["limits"] and "cpu" in container["resources"]["requests"]


def test_probes_wait_for_the_model_and_rolling_updates_keep_serving():
    spec = deployment()["spec"]
    api = spec["template"]["spec"]["containers"][0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/api/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/api/health"
    startup = api["startupProbe"]
    assert startup["httpGet"]["path"] == "/api/ready"
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300  # a slow node's model load
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    settings = documents()["ConfigMap"][0]["data"]
    preStop = int(api["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert spec["template"]["spec"]["terminationGracePeriodSeconds"] > preStop + int(settings["BRIEF_GRACEFUL_TIMEOUT"])


def test_memory_fits_the_measured_workers():
    """docs/results/soak.json: each worker's RSS after a 60 s, 50-client soak; limits leave room above it."""
    soak = json.loads((ROOT / "docs" / "results" / "soak.json").read_text())
    per_worker_mb = max(soak["rss_mb"]["end"].values())
    settings = documents()["ConfigMap"][0]["data"]
    resources = deployment()["spec"]["template"]["spec"]["containers"][0]["resources"]
    mebibytes = {"Mi": 1, "Gi": 1024}
    request, limit = (int(v[:-2]) * mebibytes[v[-2:]] for v in (resources["requests"]["memory"],
                                                                 resources["limits"]["memory"]))
    workers = int(settings["BRIEF_WORKERS"])
    assert request >= workers * per_worker_mb
    assert limit >= 1.15 * workers * per_worker_mb


def test_settings_are_the_services_own():
    """Every BRIEF_ variable in the ConfigMap is a setting (app/settings.py: the app's and gunicorn's), with a valid value."""
    data = documents()["ConfigMap"][0]["data"]
    for name in data:
        if name.startswith("BRIEF_"):
            assert hasattr(Settings, name.removeprefix(PREFIX)), name
    Settings.load({k: str(v) for k, v in data.items()})  # raises SettingsError naming a bad one


def test_model_dockerfile_passes_hadolint():
    result = subprocess.run([tool("hadolint"), "deploy/model.Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# --- podman kube play -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_image(base_image: str, tmp_path_factory) -> tuple[str, str]:  # noqa: F811
    """The model image, built from a copy of the bundled model under another card id; (image, that id)."""
    context = tmp_path_factory.mktemp("model-image")
    (context / "models").mkdir()
    shutil.copyfile(ROOT / "models" / "brief.h5", context / "models" / "brief.h5")
    shutil.copytree(ROOT / "models" / "nltk_data", context / "models" / "nltk_data")
    card = json.loads((ROOT / "models" / "brief.json").read_text())
    model_id = f"{card['id']}-k8s-{uuid.uuid4().hex[:6]}"
    (context / "models" / "brief.json").write_text(json.dumps({**card, "id": model_id}))
    podman("build", "--build-arg", f"BASE_IMAGE={base_image}", "-f", str(ROOT / "deploy" / "model.Dockerfile"),
           "-t", MODEL_IMAGE, str(context), timeout=600)
    return MODEL_IMAGE, model_id


@pytest.mark.slow
def test_podman_kube_play_serves_the_model_image_through_its_own_probes(image, model_image, tmp_path):  # noqa: F811
    model, model_id = model_image
    docs = documents()
    settings, deploy = docs["ConfigMap"][0], docs["Deployment"][0]
    name = f"brief-k8s-{uuid.uuid4().hex[:6]}"
    port = free_port()
    deploy["metadata"]["name"] = name
    deploy["spec"]["replicas"] = 1  # each replica would bind the same hostPort
    # podman 4.3 removes a "once" init container while it may still run (containers/podman#18477,
    # fixed in 4.6): ask podman to keep it instead (Kubernetes ignores the annotation); and as podman
    # restarts a kept init container under restartPolicy Always (containers/podman#16343), copying
    # the model again under the running workers, let the pod restart only what fails.
    keep_init = {"io.podman.annotations.init.container.type": "always"}
    deploy["metadata"].setdefault("annotations", {}).update(keep_init)
    deploy["spec"]["template"]["metadata"]["annotations"].update(keep_init)
    deploy["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    pod = deploy["spec"]["template"]["spec"]
    pod["initContainers"][0]["image"] = model
    api = pod["containers"][0]
    api["image"] = image
    api["ports"][0].update(hostPort=port, hostIP="127.0.0.1")
    manifest = tmp_path / "brief.yaml"
    manifest.write_text(yaml.safe_dump_all([settings, deploy]))
    url = f"http://127.0.0.1:{port}"
    try:
        podman("kube", "play", str(manifest), timeout=300)
        names = podman("ps", "-a", "--format", "{{.Names}}").stdout.split()
        container = next(n for n in names if n.startswith(name) and n.endswith(f"-{api['name']}"))
        # The pod's own probes, as the kubelet would run them: podman 4.3 turns an httpGet probe into
        # `curl` inside the container (the image has none) and leaves a named port as 0, so here
        # they are called from outside, through the hostPort, with their declared periods and timeouts.
        startup, readiness, liveness = (api[p] for p in ("startupProbe", "readinessProbe", "livenessProbe"))
        for attempt in range(startup["failureThreshold"] + 1):
            assert attempt < startup["failureThreshold"], f"startup probe failed:\n{logs(container)}"
            state = podman("inspect", "--format", "{{.State.Status}}", container, check=False).stdout.strip()
            assert state == "running", f"container {state}:\n{logs(container)}"
            if probe(url, startup):
                break
            time.sleep(startup["periodSeconds"])
        assert probe(url, readiness) and probe(url, liveness)
        ready = requests.get(f"{url}/api/ready", timeout=10)
        assert ready.status_code == 200 and ready.json()["model"] == model_id
        response = requests.post(f"{url}/api/evaluate?top=2", data=ARTICLE.encode(),
                                 headers={"Content-Type": "text/plain; charset=utf-8"}, timeout=60)
        assert response.status_code == 200, response.text
        assert response.json()["model"] == model_id  # from the model image, not the one baked into the code image
        assert len(response.json()["highlights"]) == 2
        for _ in range(120):  # the pod is ready with its first worker; the second may still be loading
            workers = requests.get(f"{url}/api/model", timeout=10).json()["workers"]
            if len(workers) == int(settings["data"]["BRIEF_WORKERS"]):
                break
            time.sleep(1)
        assert len(workers) == int(settings["data"]["BRIEF_WORKERS"]), workers
        assert all(w["model"] == model_id for w in workers)
        inspect = json.loads(podman("inspect", container).stdout)[0]
        assert inspect["HostConfig"]["ReadonlyRootfs"] is True
        assert podman("exec", container, "id", "-u").stdout.strip() == "10001"
        assert podman("exec", container, "touch", "/app/x", check=False).returncode != 0  # read-only root
    finally:
        podman("kube", "down", str(manifest), check=False, timeout=120)


def probe(url: str, spec: dict) -> bool:
    """One httpGet probe: success is a status in 200-399 within its timeoutSeconds."""
    try:
        response = requests.get(url + spec["httpGet"]["path"], timeout=spec["timeoutSeconds"], allow_redirects=False)
    except requests.RequestException:
        return False
    return 200 <= response.status_code < 400


def logs(container: str) -> str:
    result = podman("logs", container, check=False)
    return (result.stdout + result.stderr)[-4000:]
