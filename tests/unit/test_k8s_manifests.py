"""deploy/k8s, rendered by `kubectl kustomize` and validated offline: every Kubernetes object against the
API schemas of a pinned Kubernetes version (kubernetes-validate, strict: an unknown field is an error), the
KEDA objects against deploy/k8s/schemas/keda.yaml, then the rules the manifests must keep (probes, resources,
grace period, autoscaling bounds, secrets only from Secret objects, the network policy).
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from shared.consumer.batch import BatchConsumer
from shared.settings import DEFAULT_PORTS, DOMAIN_SERVICES, Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("base", "production")
KUBERNETES_VERSION = "1.34"  # the oldest minor kubernetes-validate 1.37 carries; newer clusters accept these
KEDA_KINDS = ("ScaledObject", "TriggerAuthentication")
# The bench's peak RSS of a service process (README, "Performance": 84-109 MB per service).
MEASURED_PEAK_RSS_BYTES = 109_000_000
SECRET = "perkstream-secrets"
Objects = list[dict[str, Any]]


def _render(overlay: str) -> Objects:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with its built-in kustomize) is needed: `make setup` says how to get it"
    out = subprocess.run([kubectl, "kustomize", str(K8S / overlay)], check=True, capture_output=True, text=True)
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def objects(request: pytest.FixtureRequest) -> Objects:
    return _render(request.param)


@pytest.fixture(scope="module")
def keda_schemas() -> dict[str, dict[str, Any]]:
    schemas = yaml.safe_load((K8S / "schemas" / "keda.yaml").read_text())
    return {kind: {**schemas[kind], "$defs": schemas["$defs"]} for kind in KEDA_KINDS}


def _validate(obj: dict[str, Any], keda_schemas: dict[str, dict[str, Any]]) -> None:
    if obj["kind"] not in KEDA_KINDS:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        return
    jsonschema.Draft202012Validator(keda_schemas[obj["kind"]]).validate(obj)
    behavior = obj["spec"].get("advanced", {}).get("horizontalPodAutoscalerConfig", {}).get("behavior")
    if behavior:  # KEDA hands it to the HorizontalPodAutoscaler it makes: Kubernetes' own schema applies
        hpa = {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": obj["metadata"]["name"]},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "x"}, "maxReplicas": 1, "behavior": behavior},
        }
        kubernetes_validate.validate(hpa, KUBERNETES_VERSION, strict=True)


def _one(objects: Objects, kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _config(objects: Objects) -> dict[str, str]:
    (config,) = [
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("perkstream-config")
    ]
    return config["data"]


def _pod_specs(objects: Objects) -> list[tuple[str, dict[str, Any]]]:
    return [
        (o["metadata"]["name"], o["spec"]["template"]["spec"]) for o in objects if o["kind"] in ("Deployment", "Job")
    ]


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container.get("env", [])}


def _bytes(quantity: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(Ki|Mi|Gi|k|M|G)?", quantity).groups()  # type: ignore[union-attr]
    return int(number) * {None: 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 10**3, "M": 10**6, "G": 10**9}[unit]


def test_every_object_is_valid_against_its_schema(objects: Objects, keda_schemas: dict[str, dict[str, Any]]) -> None:
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "Service", "PodDisruptionBudget", "Job", "NetworkPolicy", "ConfigMap"} <= kinds
    assert {"ScaledObject", "TriggerAuthentication", "HorizontalPodAutoscaler"} <= kinds
    for obj in objects:
        _validate(obj, keda_schemas)


def test_the_validators_refuse_mistakes(objects: Objects, keda_schemas: dict[str, dict[str, Any]]) -> None:
    deployment = copy.deepcopy(_one(objects, "Deployment", "perkstream-loyalty"))
    _container(deployment)["livenesProbe"] = _container(deployment).pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(deployment, keda_schemas)

    scaled = _one(objects, "ScaledObject", "perkstream-loyalty")
    for mistake in ({"lagTreshold": "500"}, {"lagThreshold": 500}, {"allowIdleConsumers": "no"}):
        broken = copy.deepcopy(scaled)
        broken["spec"]["triggers"][0]["metadata"].update(mistake)
        with pytest.raises(jsonschema.ValidationError):
            _validate(broken, keda_schemas)
    broken = copy.deepcopy(scaled)
    broken["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleUp"]["policies"][0]["value"] = "2"
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(broken, keda_schemas)


@pytest.mark.parametrize("name", list(DEFAULT_PORTS))
def test_a_deployment_per_service_with_probes_resources_and_a_disruption_budget(objects: Objects, name: str) -> None:
    deployment = _one(objects, "Deployment", f"perkstream-{name}")
    pod = deployment["spec"]["template"]
    container = _container(deployment)
    port = DEFAULT_PORTS[name]

    assert container["command"] == ["python", "-m", f"services.{name}"]
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    assert _env(container)["HTTP_PORT"]["value"] == str(port)
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"

    resources = container["resources"]
    assert _bytes(resources["requests"]["memory"]) >= MEASURED_PEAK_RSS_BYTES
    assert _bytes(resources["limits"]["memory"]) >= 2 * _bytes(resources["requests"]["memory"])
    assert resources["requests"]["cpu"]

    service = _one(objects, "Service", f"perkstream-{name}")
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["port"] == port

    budget = _one(objects, "PodDisruptionBudget", f"perkstream-{name}")
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert budget["spec"]["maxUnavailable"] == 1


def test_pods_run_unprivileged(objects: Objects) -> None:
    images = set()
    for name, spec in _pod_specs(objects):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] == 10001, name  # the image's user (Dockerfile)
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            images.add(container["image"])
    assert len(images) == 1, images  # one image, every service and the migrations


def test_the_grace_period_outlasts_the_drain(objects: Objects) -> None:
    drain = float(_config(objects)["SHUTDOWN_GRACE_SECONDS"])
    for obj in objects:
        if obj["kind"] != "Deployment":
            continue
        spec = obj["spec"]["template"]["spec"]
        pre_stop = _container(obj)["lifecycle"]["preStop"]["exec"]["command"]
        assert pre_stop[0] == "sleep"
        assert spec["terminationGracePeriodSeconds"] >= float(pre_stop[1]) + drain + 10, obj["metadata"]["name"]


def test_the_settings_are_valid_and_hold_no_secret(objects: Objects) -> None:
    config = _config(objects)
    assert not [key for key in config if re.search("PASSWORD|SECRET|DATABASE_URL|KEY", key)]
    secrets = {"DATABASE_URL": "postgresql://u:p@db/perkstream", "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"}
    settings = Settings.model_validate({k.lower(): v for k, v in {**config, **secrets}.items()})
    assert settings.http_host == "0.0.0.0"
    assert settings.topic_min_insync_replicas < settings.topic_replication_factor


def test_secrets_come_only_from_secret_objects(objects: Objects) -> None:
    assert not [o for o in objects if o["kind"] == "Secret"], "no Secret with its values in the repository"
    for name, spec in _pod_specs(objects):
        for container in spec["containers"]:
            env = _env(container)
            for key in ("DATABASE_URL", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"):
                assert env[key]["valueFrom"]["secretKeyRef"] == {"name": SECRET, "key": key}, (name, key)
            for key, item in env.items():
                assert "value" not in item or not re.search("PASSWORD|SECRET|URL", key), (name, key)
            assert [ref["configMapRef"]["name"] for ref in container["envFrom"]] == [_config_name(objects)]


def _config_name(objects: Objects) -> str:
    return next(o["metadata"]["name"] for o in objects if o["kind"] == "ConfigMap")


@pytest.mark.parametrize("name", DOMAIN_SERVICES)
def test_consumers_scale_on_their_group_lag_up_to_the_partitions(objects: Objects, name: str) -> None:
    config = _config(objects)
    deployment = _one(objects, "Deployment", f"perkstream-{name}")
    assert "replicas" not in deployment["spec"], "KEDA owns the replica count: an apply must not reset it"

    scaled = _one(objects, "ScaledObject", f"perkstream-{name}")["spec"]
    assert scaled["scaleTargetRef"] == {"name": deployment["metadata"]["name"]}
    assert 2 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"] <= int(config["TOPIC_PARTITIONS"])
    (trigger,) = scaled["triggers"]
    assert trigger["type"] == "kafka"
    metadata = trigger["metadata"]
    assert metadata["consumerGroup"] == BatchConsumer.group_id.fget(SimpleNamespace(service=name))  # type: ignore[attr-defined]
    assert metadata["bootstrapServers"] == config["KAFKA_BOOTSTRAP_SERVERS"]
    assert metadata["allowIdleConsumers"] == "false"
    assert metadata["offsetResetPolicy"] == "earliest"  # as the consumers (shared/consumer/batch.py)
    assert "topic" not in metadata  # every topic of the group: a service consumes several
    keda_sasl = {"PLAIN": "plaintext", "SCRAM-SHA-256": "scram_sha256", "SCRAM-SHA-512": "scram_sha512"}
    assert metadata["sasl"] == keda_sasl[config["KAFKA_SASL_MECHANISM"]]
    assert metadata["tls"] == ("enable" if config["KAFKA_SECURITY_PROTOCOL"].endswith("SSL") else "disable")

    auth = _one(objects, "TriggerAuthentication", trigger["authenticationRef"]["name"])
    refs = {ref["parameter"]: (ref["name"], ref["key"]) for ref in auth["spec"]["secretTargetRef"]}
    assert refs == {"username": (SECRET, "KAFKA_SASL_USERNAME"), "password": (SECRET, "KAFKA_SASL_PASSWORD")}


def test_the_gateway_scales_on_cpu(objects: Objects) -> None:
    assert not [o for o in objects if o["kind"] == "ScaledObject" and o["metadata"]["name"] == "perkstream-gateway"]
    hpa = _one(objects, "HorizontalPodAutoscaler", "perkstream-gateway")["spec"]
    assert hpa["scaleTargetRef"]["name"] == "perkstream-gateway"
    assert 2 <= hpa["minReplicas"] <= hpa["maxReplicas"]
    assert "replicas" not in _one(objects, "Deployment", "perkstream-gateway")["spec"]


@pytest.mark.parametrize("name", ["memberships", "loyalty", "wallet"])
def test_the_quote_asks_http_replicas_that_join_no_consumer_group(objects: Objects, name: str) -> None:
    deployment = _one(objects, "Deployment", f"perkstream-{name}-http")
    container = _container(deployment)
    port = DEFAULT_PORTS[name]
    assert container["command"] == ["python", "-m", f"services.{name}"]
    assert _env(container)["CONSUMER_ENABLED"]["value"] == "false"
    assert _env(container)["HTTP_PORT"]["value"] == str(port)
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    # Apart from the consuming Deployment's pods: neither selects the other's.
    consuming = _one(objects, "Deployment", f"perkstream-{name}")
    assert not consuming["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = _one(objects, "Service", f"perkstream-{name}-http")
    assert service["spec"]["selector"].items() <= labels.items() and service["spec"]["ports"][0]["port"] == port
    assert _config(objects)[f"{name.upper()}_URL"] == f"http://perkstream-{name}-http:{port}"
    assert not [o for o in objects if o["kind"] == "ScaledObject" and o["metadata"]["name"].endswith("-http")]
    hpa = _one(objects, "HorizontalPodAutoscaler", f"perkstream-{name}-http")["spec"]
    assert hpa["scaleTargetRef"]["name"] == f"perkstream-{name}-http" and hpa["minReplicas"] >= 2
    # The gateway may reach them, and they let it in.
    policies = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "NetworkPolicy"}
    allowed_in = policies["perkstream-quote-parts-in"]["podSelector"]["matchExpressions"][0]["values"]
    allowed_out = policies["perkstream-gateway-to-parts"]["egress"][0]["to"][0]["podSelector"]["matchExpressions"]
    assert (
        labels["app.kubernetes.io/name"] in allowed_in and labels["app.kubernetes.io/name"] in allowed_out[0]["values"]
    )


def test_the_migrations_job(objects: Objects) -> None:
    job = _one(objects, "Job", "perkstream-migrate")
    spec = job["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    command = " ".join(container["command"])
    assert "shared.admin migrate && python -m shared.admin create-topics" in command
    assert spec["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] >= 1 and job["spec"]["ttlSecondsAfterFinished"] > 0


def test_the_network_policy(objects: Objects) -> None:
    policies = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "NetworkPolicy"}
    deny = policies["perkstream-default-deny"]
    assert deny["podSelector"] == {"matchLabels": {"app.kubernetes.io/part-of": "perkstream"}}
    assert sorted(deny["policyTypes"]) == ["Egress", "Ingress"] and "ingress" not in deny and "egress" not in deny
    for obj in objects:
        if obj["kind"] in ("Deployment", "Job"):
            labels = obj["spec"]["template"]["metadata"]["labels"]
            assert labels["app.kubernetes.io/part-of"] == "perkstream", obj["metadata"]["name"]

    (rule,) = policies["perkstream-http-in"]["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]

    open_ports = [
        (port["port"], port.get("endPort", port["port"]))
        for rule in policies["perkstream-out"]["egress"]
        for port in rule["ports"]
    ]
    kafka_port = int(_config(objects)["KAFKA_BOOTSTRAP_SERVERS"].split(",")[0].rsplit(":", 1)[1])
    for needed in (53, 5432, kafka_port):
        assert any(low <= needed <= high for low, high in open_ports), needed
