"""Rendering the Marathon app like Cosmos: valid apps for every option set, and every env
var it emits is one the scheduler accepts, with each option visibly changing its config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from framework.config import VARIABLES, load
from tests.keys import service_account_pem, write_tls_files
from universe import render
from universe.errors import OptionsInvalidError

REPO = Path(__file__).resolve().parents[2]
PEM = service_account_pem()
TOKEN = "operator-token-0123456789"
# Marathon resolves {"secret": name} env values from the DC/OS secret store; these stand in.
SECRET_VALUES = {"CALICO_SERVICE_ACCOUNT_PRIVATE_KEY": PEM, "MESOS_SECRET": "mesos-pw",
                 "CALICO_OPERATOR_TOKEN": TOKEN, "CALICO_ETCD_PASSWORD": "etcd-pw"}
APP_ONLY = {"service.cpus", "service.mem", "service.scheduler_image"}
TIMEOUT_S = 60


@pytest.fixture
def tls_files(tmp_path):
    tls = write_tls_files(tmp_path)
    return {"ca.pem": tls.ca, "cert.pem": tls.cert, "key.pem": tls.key}


def _samples(files):
    """option path -> (non-default value, companion options, what it sets in the Config)."""
    https = {"etcd.endpoints": "https://e1:2379"}
    account = {"service.service_account": "calico-sa",
               "service.service_account_secret": "calico/sa-key"}
    return {
        "service.name": ("calico-b", {}, lambda c: c.framework.name),
        "service.cpus": (1.5, {}, None),
        "service.mem": (1024, {}, None),
        "service.scheduler_image": ("registry:5000/calico-dcos:dev", {}, None),
        "service.log_level": ("DEBUG", {}, lambda c: c.log_level),
        "service.service_account": ("calico-sa", account,
                                    lambda c: c.mesos.service_account.uid),
        "service.service_account_secret": ("calico/sa-key", account,
                                           lambda c: c.mesos.service_account.private_key),
        "service.login_url": ("https://m1/acs/api/v1/auth/login", account,
                              lambda c: c.mesos.service_account.login_url),
        "service.installer_url": ("https://mirror/calico-installer.pyz", {},
                                  lambda c: c.installer.url),
        "service.installer_python": ("/usr/bin/python3.8", {}, lambda c: c.installer.python),
        "mesos.master": ("leader.mesos:5050", {}, lambda c: c.mesos.master),
        "mesos.principal": ("calico-principal", {}, lambda c: c.mesos.principal),
        "mesos.secret_name": ("calico/mesos-secret", {"mesos.principal": "p"},
                              lambda c: c.mesos.secret),
        "mesos.roles": ("calico-role", {}, lambda c: c.mesos.roles),
        "mesos.failover_timeout_s": (3600, {}, lambda c: c.mesos.failover_timeout_s),
        "mesos.tls": (True, {}, lambda c: c.mesos.tls),
        "etcd.endpoints": ("http://e1:2379,http://e2:2379", {}, lambda c: c.etcd.endpoints),
        "etcd.username": ("calico-dcos", {"etcd.password_secret": "calico/etcd-pw"},
                          lambda c: c.etcd.username),
        "etcd.password_secret": ("calico/etcd-pw", {"etcd.username": "calico-dcos"},
                                 lambda c: c.etcd.password),
        "etcd.discovery_srv": ("etcd.mesos", {}, lambda c: c.etcd.discovery_srv),
        "etcd.ca_file": (files["ca.pem"], https, lambda c: c.etcd.ca_file),
        "etcd.cert_file": (files["cert.pem"], {**https, "etcd.ca_file": files["ca.pem"],
                                               "etcd.key_file": files["key.pem"]},
                           lambda c: c.etcd.cert_file),
        "etcd.key_file": (files["key.pem"], {**https, "etcd.ca_file": files["ca.pem"],
                                             "etcd.cert_file": files["cert.pem"]},
                          lambda c: c.etcd.key_file),
        "etcd.proxy.enabled": (False, {"docker.cluster_store": "etcd://e1:2379"},
                               lambda c: c.etcd_proxy.enabled),
        "etcd.proxy.binary_url": ("https://mirror/etcd.tgz", {},
                                  lambda c: c.etcd_proxy.binary_url),
        "etcd.proxy.binary_sha256": ("a" * 64, {}, lambda c: c.etcd_proxy.binary_sha256),
        "etcd.proxy.cpus": (0.3, {}, lambda c: c.etcd_proxy.resources.cpus),
        "etcd.proxy.mem": (200, {}, lambda c: c.etcd_proxy.resources.mem_mb),
        "docker.enabled": (False, {}, lambda c: c.docker.enabled),
        "docker.cluster_store": ("consul://c1:8500", {}, lambda c: c.docker.cluster_store),
        "docker.live_restore": (True, {}, lambda c: c.docker.live_restore),
        "docker.cpus": (0.3, {}, lambda c: c.docker.resources.cpus),
        "docker.mem": (100, {}, lambda c: c.docker.resources.mem_mb),
        "cni.enabled": (False, {}, lambda c: c.cni.enabled),
        "cni.plugin_url": ("https://mirror/calico", {}, lambda c: c.cni.plugin_url),
        "cni.plugin_sha256": ("b" * 64, {}, lambda c: c.cni.plugin_sha256),
        "cni.ipam_url": ("https://mirror/calico-ipam", {}, lambda c: c.cni.ipam_url),
        "cni.ipam_sha256": ("c" * 64, {}, lambda c: c.cni.ipam_sha256),
        "cni.network_name": ("tasks", {}, lambda c: c.cni.network_name),
        "cni.subnet": ("10.200.0.0/16", {}, lambda c: c.cni.subnet),
        "cni.mtu": (1440, {}, lambda c: c.cni.mtu),
        "cni.cpus": (0.3, {}, lambda c: c.cni.resources.cpus),
        "cni.mem": (100, {}, lambda c: c.cni.resources.mem_mb),
        "calico_node.enabled": (False, {}, lambda c: c.calico_node.enabled),
        "calico_node.image": ("calico/node:v2.6.11", {}, lambda c: c.calico_node.image),
        "calico_node.ip_autodetection_method": (
            "can-reach=10.0.0.1", {}, lambda c: c.calico_node.ip_autodetection_method),
        "calico_node.felix_ignore_loose_rpf": (
            False, {}, lambda c: c.calico_node.felix_ignore_loose_rpf),
        "calico_node.felix_env": ('{"FELIX_LOGSEVERITYSCREEN": "debug"}', {},
                                  lambda c: c.calico_node.felix_env),
        "calico_node.cpus": (0.5, {}, lambda c: c.calico_node.resources.cpus),
        "calico_node.mem": (512, {}, lambda c: c.calico_node.resources.mem_mb),
        "verify.enabled": (False, {}, lambda c: "verify" not in c.enabled_steps()),
        "verify.cpus": (0.2, {}, lambda c: c.verify.resources.cpus),
        "verify.mem": (48, {}, lambda c: c.verify.resources.mem_mb),
        "rollout.max_concurrent_restarts": (2, {}, lambda c: c.rollout.max_concurrent_restarts),
        "rollout.max_parallel_tasks": (20, {}, lambda c: c.rollout.max_parallel_tasks),
        "rollout.retry_max_attempts": (3, {}, lambda c: c.rollout.retry_max_attempts),
        "rollout.backoff_base_s": (5, {}, lambda c: c.rollout.backoff_base_s),
        "rollout.backoff_cap_s": (120, {}, lambda c: c.rollout.backoff_cap_s),
        "rollout.max_failed_agents": (3, {}, lambda c: c.rollout.max_failed_agents),
        "rollout.gone_agent_retention_s": (3600, {}, lambda c: c.rollout.gone_retention_s),
        "rollout.restart_timeout_s": (600, {}, lambda c: c.installer.restart_timeout_s),
        "rollout.restart_stable_s": (30, {}, lambda c: c.installer.restart_stable_s),
        "status.operator_token": (TOKEN, {}, lambda c: c.web.operator_token),
        "status.operator_token_secret": ("calico/token", {}, lambda c: c.web.operator_token),
        "status.webui_url": ("https://calico.example/", {}, lambda c: c.framework.webui_url),
        "status.dcos_login": (False, {}, lambda c: c.web.dcos_login),
        "status.dcos_jwks_url": ("https://leader.mesos/acs/api/v1/auth/jwks", {},
                                 lambda c: c.web.dcos_login.jwks_url),
        "status.dcos_users": ("alice,bob", {}, lambda c: c.web.dcos_login.users),
        "service.ca_bundle": (files["ca.pem"], {}, lambda c: c.dcos_ca_file),
        "status.bind_address": ("127.0.0.1,10.0.0.5", {}, lambda c: c.web.bind_addresses),
    }


def _leaves(schema, prefix=""):
    for name, prop in schema["properties"].items():
        path = f"{prefix}{name}"
        if prop.get("type") == "object":
            yield from _leaves(prop, f"{path}.")
        else:
            yield path, prop


def _options(pairs):
    """Nested options from dotted paths."""
    options: dict = {}
    for path, value in pairs.items():
        *parents, leaf = path.split(".")
        node = options
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return options


def _render(package, pairs=None):
    return render.render_app(package.marathon_template, package.config, package.resource,
                             _options(pairs or {}))


def _env(app):
    """The app's env as the scheduler process sees it, secrets resolved."""
    return {name: SECRET_VALUES[name] if isinstance(value, dict) else value
            for name, value in app["env"].items()}


def test_samples_cover_every_option(package, tls_files):
    assert {path for path, _ in _leaves(package.config)} == set(_samples(tls_files))


def test_defaults_render_a_valid_app_with_service_link(package, schemas):
    app = _render(package)
    for release, validator in schemas.marathon.items():
        assert not list(validator.iter_errors(app)), release
    assert app["labels"] == {"DCOS_PACKAGE_FRAMEWORK_NAME": "calico",
                             "DCOS_SERVICE_NAME": "calico", "DCOS_SERVICE_PORT_INDEX": "0",
                             "DCOS_SERVICE_SCHEME": "http", "DCOS_COMMONS_API_VERSION": "v1",
                             "DCOS_COMMONS_UNINSTALL": "true",
                             "MARATHON_SINGLE_INSTANCE_APP": "true"}
    # A single-instance app must replace its task without overlap (Marathon's validation:
    # marathon v1.5.12, state/UpgradeStrategy.scala, validForSingleInstanceApps).
    assert app["instances"] == 1
    assert app["upgradeStrategy"] == {"minimumHealthCapacity": 0, "maximumOverCapacity": 0}
    (check,) = app["healthChecks"]
    assert (check["protocol"], check["path"], check["portIndex"]) == (
        "MESOS_HTTP", "/health/live", 0)
    assert check["maxConsecutiveFailures"] > 0  # 0 would kill at the first failed check
    assert app["ports"] == [0] and app["networks"] == [{"mode": "host"}]
    assert app["container"]["docker"]["image"] == package.resource["assets"]["container"][
        "docker"]["calico-dcos"]


def _option_sets(package, files):
    samples = _samples(files)
    sets = [{}]
    for path, prop in _leaves(package.config):
        value, companions, _ = samples[path]
        sets.append({**companions, path: value})
        if prop["type"] == "boolean":
            sets.append({path: prop["default"]})
    sets.append({path: value for path, (value, _, _) in samples.items()})
    return sets


def test_every_option_set_renders_a_valid_app_with_string_labels(package, schemas, tls_files):
    for pairs in _option_sets(package, tls_files):
        app = _render(package, pairs)
        for release, validator in schemas.marathon.items():
            errors = [error.message for error in validator.iter_errors(app)]
            assert not errors, (release, pairs, errors)
        assert all(isinstance(value, str) for value in app["labels"].values())
        assert app["labels"]["DCOS_SERVICE_NAME"] == app["id"].lstrip("/")


def test_env_names_are_exactly_what_the_scheduler_reads(package):
    emitted = set(_render(package)["env"])
    accepted = {variable.env for variable in VARIABLES}
    assert emitted <= accepted
    # Marathon sets PORT0 and HOST (the hostname default) itself, and the secrets appear
    # only when their options are set.
    assert accepted - emitted == {"PORT0", "MESOS_SECRET", "MESOS_SECRET_FILE",
                                  "CALICO_SERVICE_ACCOUNT_PRIVATE_KEY",
                                  "CALICO_SERVICE_ACCOUNT_PRIVATE_KEY_FILE",
                                  "CALICO_OPERATOR_TOKEN_FILE", "CALICO_ETCD_PASSWORD",
                                  "CALICO_ETCD_PASSWORD_FILE", "CALICO_FRAMEWORK_HOSTNAME",
                                  "SDK_UNINSTALL"}  # Cosmos adds it to uninstall


def _validate_config(env):
    base = {key: value for key, value in os.environ.items()
            if not key.startswith(("CALICO_", "MESOS_")) and key not in ("PORT0", "HOST")}
    return subprocess.run([sys.executable, "-m", "framework", "--validate-config"], cwd=REPO,
                          env={**base, **env, "PORT0": "31000"}, capture_output=True,
                          text=True, timeout=TIMEOUT_S, check=False)


def test_scheduler_accepts_the_env_of_the_default_app(package):
    result = _validate_config(_env(_render(package)))
    assert result.returncode == 0, result.stderr


def test_scheduler_accepts_the_env_with_every_option_set(package, tls_files):
    pairs = {path: value for path, (value, _, _) in _samples(tls_files).items()}
    pairs["etcd.endpoints"] = "https://e1:2379"
    pairs["status.dcos_login"] = True  # status.dcos_users names users of DC/OS login
    app = _render(package, pairs)
    assert {"MESOS_SECRET", "CALICO_SERVICE_ACCOUNT_PRIVATE_KEY",
            "CALICO_ETCD_PASSWORD"} <= set(app["env"])
    assert set(app["secrets"]) == {"service-account-key", "mesos-secret", "operator-token",
                                   "etcd-password"}
    result = _validate_config(_env(app))
    assert result.returncode == 0, result.stderr


def test_each_option_visibly_changes_the_parsed_config(package, tls_files):
    default_app = _render(package)
    default = load([], _env(default_app))
    for path, (value, companions, read) in _samples(tls_files).items():
        app = _render(package, {**companions, path: value})
        if read is None:
            assert path in APP_ONLY
            assert app != default_app, path
            continue
        config = load([], _env(app))
        try:
            before = read(default)
        except AttributeError:  # the group is absent by default (service account)
            before = None
        assert read(config) != before, path


def test_package_defaults_match_the_scheduler_defaults(package):
    from_package = load([], _env(_render(package)))
    from_code = load([], {})
    assert from_package.step_hashes() == from_code.step_hashes()
    assert from_package.rollout == from_code.rollout
    assert from_package.mesos == from_code.mesos


def test_strings_are_json_escaped_not_html_escaped(package):
    nasty = 'a"b\\c</script>&\n'
    app = _render(package, {"calico_node.felix_env": json.dumps({"FELIX_X": nasty})})
    assert json.loads(app["env"]["CALICO_NODE_FELIX_ENV"]) == {"FELIX_X": nasty}


def test_booleans_render_as_json_words(package):
    app = _render(package, {"docker.enabled": False})
    assert app["env"]["CALICO_DOCKER_ENABLED"] == "false"
    assert app["env"]["CALICO_CNI_ENABLED"] == "true"


@pytest.mark.parametrize("pairs, field", [
    ({"service.cpus": "lots"}, "/service/cpus"),
    ({"rollout.max_concurrent_restarts": 0}, "/rollout/max_concurrent_restarts"),
    ({"docker.enabled": "yes"}, "/docker/enabled"),
    ({"service.name": "Calico"}, "/service/name"),
    ({"etcd.proxy.colour": "blue"}, "/etcd/proxy"),
    ({"extra": {}}, "/:"),
])
def test_invalid_options_are_refused_naming_the_field(package, pairs, field):
    with pytest.raises(OptionsInvalidError) as caught:
        _render(package, pairs)
    assert any(problem.startswith(field) for problem in caught.value.problems), (
        caught.value.problems)


SECRET_OPTIONS = {
    "service.service_account_secret": ("service-account-key", {"service.service_account": "sa"}),
    "mesos.secret_name": ("mesos-secret", {"mesos.principal": "p"}),
    "status.operator_token_secret": ("operator-token", {}),
    "etcd.password_secret": ("etcd-password", {"etcd.username": "calico-dcos"}),
}


@pytest.mark.parametrize("chosen", [
    [name for bit, name in enumerate(SECRET_OPTIONS) if mask >> bit & 1] for mask in range(16)])
def test_every_combination_of_secrets_renders_marathon_secrets(package, chosen):
    pairs = {}
    for name in chosen:
        pairs.update({name: f"calico/{SECRET_OPTIONS[name][0]}", **SECRET_OPTIONS[name][1]})
    app = _render(package, pairs)
    assert set(app["secrets"]) == {SECRET_OPTIONS[name][0] for name in chosen}
    referenced = {value["secret"] for value in app["env"].values() if isinstance(value, dict)}
    assert referenced == set(app["secrets"])


@pytest.mark.parametrize("etcd_files", [(), ("ca.pem",), ("cert.pem", "key.pem")])
def test_the_ca_bundle_is_mounted_read_only_beside_the_etcd_files(package, tls_files,
                                                                  etcd_files):
    names = {"ca.pem": "etcd.ca_file", "cert.pem": "etcd.cert_file", "key.pem": "etcd.key_file"}
    pairs = {names[f]: tls_files[f] for f in etcd_files}
    pairs["service.ca_bundle"] = "/run/dcos/pki/CA/ca-bundle.crt"
    volumes = _render(package, pairs)["container"]["volumes"]
    assert volumes[-1] == {"containerPath": "/run/dcos/pki/CA/ca-bundle.crt",
                           "hostPath": "/run/dcos/pki/CA/ca-bundle.crt", "mode": "RO"}
    assert len(volumes) == len(etcd_files) + 1
