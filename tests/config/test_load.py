"""`framework.config.load`: every variable parsed, every bad value reported, flags win."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from framework.config import VARIABLES, ConfigError, load
from tests.keys import service_account_pem, write_tls_files

PEM = service_account_pem()
TOKEN = "s3cret-operator-token"


@pytest.fixture
def files(tmp_path):
    """Real files for the *_FILE variables."""
    tls = write_tls_files(tmp_path / "tls")
    paths = {"ca.pem": tls.ca, "cert.pem": tls.cert, "key.pem": tls.key,
             "other-key.pem": tls.other_key}
    for name, text in {"mesos-secret": "mesos-pw\n", "sa.pem": PEM + "\n",
                       "token": TOKEN + "\n", "etcd-password": "etcd-pw\n",
                       "garbage.pem": "not a pem\n"}.items():
        path = tmp_path / name
        path.write_text(text)
        paths[name] = str(path)
    return paths


def _cases(files):
    """env name -> (raw value, what it must produce in the Config).

    Values that need a companion setting to be valid carry it in the third element.
    """
    return {
        "MESOS_MASTER": ("http://10.0.0.5:5050", lambda c: c.mesos.master, "10.0.0.5:5050"),
        "MESOS_PRINCIPAL": ("calico", lambda c: c.mesos.principal, "calico"),
        "MESOS_SECRET": ("pw", lambda c: c.mesos.secret, "pw", {"MESOS_PRINCIPAL": "p"}),
        "MESOS_SECRET_FILE": (files["mesos-secret"], lambda c: c.mesos.secret, "mesos-pw",
                              {"MESOS_PRINCIPAL": "p"}),
        "CALICO_SERVICE_ACCOUNT_UID": (
            "calico-sa", lambda c: c.mesos.service_account.uid, "calico-sa",
            {"CALICO_SERVICE_ACCOUNT_PRIVATE_KEY": PEM}),
        "CALICO_SERVICE_ACCOUNT_PRIVATE_KEY": (
            PEM, lambda c: c.mesos.service_account.private_key, PEM + "\n",
            {"CALICO_SERVICE_ACCOUNT_UID": "sa"}),
        "CALICO_SERVICE_ACCOUNT_PRIVATE_KEY_FILE": (
            files["sa.pem"], lambda c: c.mesos.service_account.private_key, PEM + "\n",
            {"CALICO_SERVICE_ACCOUNT_UID": "sa"}),
        "CALICO_DCOS_LOGIN_URL": (
            "https://m1/acs/api/v1/auth/login", lambda c: c.mesos.service_account.login_url,
            "https://m1/acs/api/v1/auth/login",
            {"CALICO_SERVICE_ACCOUNT_UID": "sa", "CALICO_SERVICE_ACCOUNT_PRIVATE_KEY": PEM}),
        "CALICO_ROLES": ("calico-role, slave_public", lambda c: c.mesos.roles,
                         ("calico-role", "slave_public")),
        "CALICO_FAILOVER_TIMEOUT": ("3600", lambda c: c.mesos.failover_timeout_s, 3600.0),
        "CALICO_FRAMEWORK_NAME": ("calico-2", lambda c: c.framework.etcd_prefix,
                                  "/calico-dcos/calico-2/"),
        "CALICO_FRAMEWORK_HOSTNAME": ("sched.example", lambda c: c.framework.hostname,
                                      "sched.example"),
        "CALICO_WEBUI_URL": ("http://calico.example/", lambda c: c.webui_url(1234),
                             "http://calico.example/"),
        "CALICO_ETCD_ENDPOINTS": ("https://e1:2379,https://e2:2379",
                                  lambda c: c.etcd.endpoints,
                                  ("https://e1:2379", "https://e2:2379"),
                                  {"CALICO_ETCD_CA_FILE": files["ca.pem"]}),
        "CALICO_ETCD_USERNAME": ("calico", lambda c: c.etcd.username, "calico",
                                 {"CALICO_ETCD_PASSWORD": "pw"}),
        "CALICO_ETCD_PASSWORD": ("etcd-pw", lambda c: c.etcd.password, "etcd-pw",
                                 {"CALICO_ETCD_USERNAME": "calico"}),
        "CALICO_ETCD_PASSWORD_FILE": (files["etcd-password"], lambda c: c.etcd.password,
                                      "etcd-pw", {"CALICO_ETCD_USERNAME": "calico"}),
        "CALICO_ETCD_CA_FILE": (files["ca.pem"], lambda c: c.etcd.ca_file, files["ca.pem"],
                                {"CALICO_ETCD_ENDPOINTS": "https://e1:2379"}),
        "CALICO_ETCD_CERT_FILE": (files["cert.pem"], lambda c: c.etcd.cert_file,
                                  files["cert.pem"],
                                  {"CALICO_ETCD_ENDPOINTS": "https://e1:2379",
                                   "CALICO_ETCD_CA_FILE": files["ca.pem"],
                                   "CALICO_ETCD_KEY_FILE": files["key.pem"]}),
        "CALICO_ETCD_KEY_FILE": (files["key.pem"], lambda c: c.etcd.key_file, files["key.pem"],
                                 {"CALICO_ETCD_ENDPOINTS": "https://e1:2379",
                                  "CALICO_ETCD_CA_FILE": files["ca.pem"],
                                  "CALICO_ETCD_CERT_FILE": files["cert.pem"]}),
        "CALICO_ETCD_DISCOVERY_SRV": ("etcd.mesos.", lambda c: c.etcd.discovery_srv,
                                      "etcd.mesos"),
        "CALICO_ETCD_PROXY_ENABLED": ("false", lambda c: c.enabled_steps(),
                                      ("docker", "cni", "calico-node", "verify"),
                                      {"CALICO_DOCKER_CLUSTER_STORE": "etcd://e1:2379"}),
        "CALICO_ETCD_PROXY_BINARY_URL": ("https://mirror/etcd.tgz",
                                         lambda c: c.etcd_proxy.binary_url,
                                         "https://mirror/etcd.tgz"),
        "CALICO_ETCD_PROXY_BINARY_SHA256": ("AB" * 32, lambda c: c.etcd_proxy.binary_sha256,
                                            "ab" * 32),
        "CALICO_ETCD_PROXY_CPUS": ("0.5", lambda c: c.etcd_proxy.resources.cpus, 0.5),
        "CALICO_ETCD_PROXY_MEM": ("512", lambda c: c.etcd_proxy.resources.mem_mb, 512.0),
        "CALICO_DOCKER_ENABLED": ("no", lambda c: c.enabled_steps(),
                                  ("etcd-proxy", "cni", "calico-node", "verify")),
        "CALICO_DOCKER_LIVE_RESTORE": ("true", lambda c: c.docker.live_restore, True),
        "CALICO_DOCKER_CLUSTER_STORE": ("consul://c1:8500", lambda c: c.docker.cluster_store,
                                        "consul://c1:8500"),
        "CALICO_DOCKER_CPUS": ("0.3", lambda c: c.docker.resources.cpus, 0.3),
        "CALICO_DOCKER_MEM": ("100", lambda c: c.docker.resources.mem_mb, 100.0),
        "CALICO_CNI_ENABLED": ("0", lambda c: c.enabled_steps(),
                               ("etcd-proxy", "docker", "calico-node")),
        "CALICO_CNI_PLUGIN_URL": ("https://mirror/calico", lambda c: c.cni.plugin_url,
                                  "https://mirror/calico"),
        "CALICO_CNI_PLUGIN_SHA256": ("1" * 64, lambda c: c.cni.plugin_sha256, "1" * 64),
        "CALICO_CNI_IPAM_URL": ("https://mirror/calico-ipam", lambda c: c.cni.ipam_url,
                                "https://mirror/calico-ipam"),
        "CALICO_CNI_IPAM_SHA256": ("2" * 64, lambda c: c.cni.ipam_sha256, "2" * 64),
        "CALICO_CNI_NETWORK_NAME": ("tasks", lambda c: c.cni.network_name, "tasks"),
        "CALICO_CNI_SUBNET": ("10.200.0.0/16", lambda c: c.cni.subnet, "10.200.0.0/16"),
        "CALICO_CNI_MTU": ("1440", lambda c: c.cni.mtu, 1440),
        "CALICO_CNI_CPUS": ("0.25", lambda c: c.cni.resources.cpus, 0.25),
        "CALICO_CNI_MEM": ("96", lambda c: c.cni.resources.mem_mb, 96.0),
        "CALICO_NODE_ENABLED": ("FALSE", lambda c: c.enabled_steps(),
                                ("etcd-proxy", "docker", "cni")),
        "CALICO_NODE_IMAGE": ("registry:5000/calico/node:v2.6.11",
                              lambda c: c.calico_node.image,
                              "registry:5000/calico/node:v2.6.11"),
        "CALICO_NODE_IP_AUTODETECTION_METHOD": (
            "interface=eth.*", lambda c: c.calico_node.ip_autodetection_method,
            "interface=eth.*"),
        "CALICO_NODE_FELIX_IGNORELOOSERPF": (
            "false", lambda c: c.calico_node.environment()["FELIX_IGNORELOOSERPF"], "false"),
        "CALICO_NODE_FELIX_ENV": (
            '{"FELIX_LOGSEVERITYSCREEN": "debug", "FELIX_IPINIPMTU": 1440}',
            lambda c: c.calico_node.felix_env,
            (("FELIX_IPINIPMTU", "1440"), ("FELIX_LOGSEVERITYSCREEN", "debug"))),
        "CALICO_NODE_CPUS": ("1", lambda c: c.calico_node.resources.cpus, 1.0),
        "CALICO_NODE_MEM": ("300", lambda c: c.calico_node.resources.mem_mb, 300.0),
        "CALICO_VERIFY_ENABLED": ("off", lambda c: c.enabled_steps(),
                                  ("etcd-proxy", "docker", "cni", "calico-node")),
        "CALICO_VERIFY_CPUS": ("0.2", lambda c: c.verify.resources.cpus, 0.2),
        "CALICO_VERIFY_MEM": ("48", lambda c: c.verify.resources.mem_mb, 48.0),
        "CALICO_INSTALLER_URL": ("https://mirror/calico-installer.pyz",
                                 lambda c: c.installer.url,
                                 "https://mirror/calico-installer.pyz"),
        "CALICO_INSTALLER_PYTHON": ("/opt/python3.11/bin/python3",
                                    lambda c: c.installer.python,
                                    "/opt/python3.11/bin/python3"),
        "CALICO_RESTART_TIMEOUT": ("600", lambda c: c.installer.restart_timeout_s, 600.0),
        "CALICO_RESTART_STABLE_SECONDS": ("0", lambda c: c.installer.restart_stable_s, 0.0),
        "CALICO_MAX_CONCURRENT_RESTARTS": ("3", lambda c: c.rollout.max_concurrent_restarts, 3),
        "CALICO_MAX_PARALLEL_TASKS": ("25", lambda c: c.rollout.max_parallel_tasks, 25),
        "CALICO_RETRY_MAX_ATTEMPTS": ("7", lambda c: c.rollout.retry_max_attempts, 7),
        "CALICO_RETRY_BACKOFF_BASE": ("2.5", lambda c: c.rollout.backoff_base_s, 2.5),
        "CALICO_RETRY_BACKOFF_CAP": ("60", lambda c: c.rollout.backoff_cap_s, 60.0),
        "CALICO_MAX_FAILED_AGENTS": ("4", lambda c: c.rollout.max_failed_agents, 4),
        "CALICO_GONE_AGENT_RETENTION": ("86400", lambda c: c.rollout.gone_retention_s,
                                        86400.0),
        "CALICO_OPERATOR_TOKEN": (TOKEN, lambda c: c.web.operator_token, TOKEN),
        "CALICO_OPERATOR_TOKEN_FILE": (files["token"], lambda c: c.web.operator_token, TOKEN),
        "CALICO_DCOS_LOGIN": ("off", lambda c: c.web.dcos_login, None),
        "CALICO_MESOS_TLS": ("yes", lambda c: c.mesos.scheme, "https"),
        "CALICO_DCOS_JWKS_URL": ("https://leader.mesos/acs/api/v1/auth/jwks",
                                 lambda c: c.web.dcos_login.jwks_url,
                                 "https://leader.mesos/acs/api/v1/auth/jwks"),
        "CALICO_DCOS_USERS": ("alice, bob", lambda c: c.web.dcos_login.users, ("alice", "bob")),
        "CALICO_DCOS_CA_FILE": (files["ca.pem"], lambda c: (c.dcos_ca_file, c.etcd.ca_file),
                                (files["ca.pem"], files["ca.pem"]),
                                {"CALICO_ETCD_ENDPOINTS": "https://e1:2379"}),
        "CALICO_BIND_ADDRESS": ("127.0.0.1, 10.0.0.5", lambda c: (c.web.bind_addresses,
                                                                  c.framework.hostname),
                                (("127.0.0.1", "10.0.0.5"), "10.0.0.5")),
        "PORT0": ("8123", lambda c: c.web.port, 8123),
        "CALICO_LOG_LEVEL": ("debug", lambda c: c.log_level, "DEBUG"),
        "SDK_UNINSTALL": ("true", lambda c: c.uninstall, True),
    }


def test_every_variable_has_a_parse_case(files):
    assert set(_cases(files)) == {variable.env for variable in VARIABLES}


@pytest.mark.parametrize("env_name", [variable.env for variable in VARIABLES])
def test_each_variable_is_parsed_from_env_and_from_its_flag(files, env_name):
    raw, read, expected, *companions = _cases(files)[env_name]
    extra = companions[0] if companions else {}
    try:
        default = read(load([], {}))
    except AttributeError:  # the setting's group is absent by default
        default = None
    assert default != expected, "the sample value must differ from the default"
    assert read(load([], {**extra, env_name: raw})) == expected
    flag = next(variable.flag for variable in VARIABLES if variable.env == env_name)
    if flag is not None:
        assert read(load([flag, raw], extra)) == expected


@pytest.mark.parametrize("flag", ["--secret", "--operator-token",
                                  "--service-account-private-key", "--etcd-password"])
def test_secrets_have_no_flag_so_they_never_show_in_the_process_list(flag):
    secrets = {variable.env for variable in VARIABLES if variable.secret}
    assert secrets == {"MESOS_SECRET", "CALICO_SERVICE_ACCOUNT_PRIVATE_KEY",
                       "CALICO_OPERATOR_TOKEN", "CALICO_ETCD_PASSWORD"}
    assert all(variable.flag is None for variable in VARIABLES if variable.secret)
    with pytest.raises(ConfigError) as caught:
        load([flag, "some-secret-value-123"], {})
    assert f"unknown argument '{flag}'" in caught.value.problems[0]


def test_defaults_are_valid_and_documented_values():
    config = load([], {})
    assert config.mesos.roles == ("*", "slave_public")
    assert config.rollout.max_concurrent_restarts == 1
    assert config.rollout.max_parallel_tasks == 10
    assert config.rollout.max_failed_agents == 1
    assert config.docker.cluster_store == "etcd://127.0.0.1:2379"
    assert config.installer.url is None
    assert config.installer.python == "python3"
    assert config.calico_node.environment() == {"FELIX_IGNORELOOSERPF": "true"}
    assert config.web.port == 0
    assert config.validate_only is False
    assert config.enabled_steps() == ("etcd-proxy", "docker", "cni", "calico-node", "verify")


def test_flag_wins_over_env():
    config = load(["--max-concurrent-restarts", "2", "--etcd-endpoints", "http://b:2379"],
                  {"CALICO_MAX_CONCURRENT_RESTARTS": "5",
                   "CALICO_ETCD_ENDPOINTS": "http://a:2379"})
    assert config.rollout.max_concurrent_restarts == 2
    assert config.etcd.endpoints == ("http://b:2379",)


def test_empty_env_value_means_default():
    assert load([], {"CALICO_MAX_CONCURRENT_RESTARTS": ""}).rollout.max_concurrent_restarts == 1


def test_help_lists_every_flag(capsys):
    with pytest.raises(SystemExit) as exited:
        load(["--help"], {})
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert all(variable.flag in shown for variable in VARIABLES if variable.flag)


def test_abbreviated_flags_are_refused():
    with pytest.raises(ConfigError) as caught:
        load(["--max-concurrent", "2"], {})
    assert caught.value.problems == ["command line: unknown argument '--max-concurrent'",
                                     "command line: unknown argument '2'"]


def test_validate_flag_sets_validate_only():
    assert load(["--validate-config"], {}).validate_only is True


@pytest.mark.parametrize("master, expected", [
    ("10.0.0.5:5050", "10.0.0.5:5050"),
    ("leader.mesos", "leader.mesos:5050"),
    ("http://leader.mesos:5050/", "leader.mesos:5050"),
    ("zk://z1:2181,z2:2181/mesos", "zk://z1:2181,z2:2181/mesos"),
    ("zoo://z1:2181/mesos", "zoo://z1:2181/mesos"),
])
def test_master_forms_pymesos_accepts(master, expected):
    assert load([], {"MESOS_MASTER": master}).mesos.master == expected


BAD_VALUES = {
    "MESOS_MASTER": ["10.0.0.5:5050,10.0.0.6:5050", "zk://z1:2181", "https://m:5050",
                     "host:99999", "http://m:5050/x", "bad host:5050", "m:５０５０"],
    "MESOS_PRINCIPAL": ["has space", "ünïcode"],
    "MESOS_SECRET": ["line\nbreak", "ünïcode"],
    "CALICO_SERVICE_ACCOUNT_PRIVATE_KEY": ["not a key"],
    "CALICO_DCOS_LOGIN_URL": ["ftp://x/login"],
    "CALICO_ROLES": ["*,,x", "-bad", "a b", ".", "*,*", "/x"],
    "CALICO_FAILOVER_TIMEOUT": ["0", "-1", "soon", "nan"],
    "CALICO_FRAMEWORK_NAME": ["Calico", "calico/x", "-calico", "x" * 64, "calico_1"],
    "CALICO_FRAMEWORK_HOSTNAME": ["bad_host!", "a..b"],
    "CALICO_WEBUI_URL": ["calico.example", "http://user:pw@calico.example/"],
    "CALICO_ETCD_ENDPOINTS": ["etcd:2379", "http://a:2379,,http://b:2379",
                              "http://a:2379/v2", "http://a:2379,http://a:2379",
                              "http://a:notaport", "http://user:pw@a:2379",
                              "http://a:2379?x=1", "http://a:2379#f", "http://a:٢٣٧٩",
                              "http://bad_host!:2379"],
    "CALICO_ETCD_USERNAME": ["has space"],
    "CALICO_ETCD_PASSWORD": ["line\nbreak"],
    "CALICO_ETCD_CA_FILE": ["/no/such/ca.pem", "relative/ca.pem", "/etc/hostname"],
    "CALICO_ETCD_KEY_FILE": ["/etc/hostname"],
    "CALICO_ETCD_PROXY_ENABLED": ["maybe"],
    "CALICO_ETCD_PROXY_BINARY_URL": ["file:///etc/passwd", "https://u:pw@mirror/etcd.tgz"],
    "CALICO_ETCD_PROXY_BINARY_SHA256": ["abc", "g" * 64],
    "CALICO_ETCD_DISCOVERY_SRV": ["10.0.0.1", "bad domain", "_etcd-server._tcp.x"],
    "CALICO_ETCD_PROXY_CPUS": ["0", "-0.1", "lots"],
    "CALICO_ETCD_PROXY_MEM": ["0"],
    "CALICO_DOCKER_CLUSTER_STORE": ["http://e:2379", "etcd:2379", "etcd://u:pw@e:2379"],
    "CALICO_CNI_SUBNET": ["192.168.0.1/16", "not-a-net"],
    "CALICO_CNI_MTU": ["575", "9001", "1500.5", "١٥٠٠", "1_500"],
    "CALICO_CNI_NETWORK_NAME": ["Calico Net"],
    "CALICO_NODE_IMAGE": ["".join(["calico/node", " v1"]), "has space:1", "http://x/y", "bad:",
                          "a@@@:::b", "calico/Node", "calico/node:tag:again", "node@sha256:abc",
                          "x" * 256, "a" * 5000 + "!"],
    "CALICO_NODE_IP_AUTODETECTION_METHOD": ["last-found", "interface=(", "can-reach=",
                                            "can-reach=bad host"],
    "CALICO_NODE_FELIX_ENV": ["not json", "[1]", '{"LOGLEVEL": "x"}',
                              '{"FELIX_X": {"a": 1}}', '{"FELIX_IGNORELOOSERPF": "false"}',
                              '{"FELIX_X": "a\\nb"}', '{"FELIX_X": "a\\u0000b"}',
                              '{"FELIX_X": 1e999}', '{"FELIX_X": NaN}', '{"FELIX_X": -Infinity}',
                              '{"FELIX_X\\n": "1"}'],
    "CALICO_INSTALLER_PYTHON": ["python3; rm -rf /", "python 3", "-c", "-"],
    "CALICO_MAX_CONCURRENT_RESTARTS": ["0", "-1", "1.5", "one"],
    "CALICO_MAX_PARALLEL_TASKS": ["0"],
    "CALICO_RESTART_TIMEOUT": ["0", "soon", "1e999", "١٢", "inf"],
    "CALICO_RESTART_STABLE_SECONDS": ["-1"],
    "CALICO_RETRY_MAX_ATTEMPTS": ["0"],
    "CALICO_RETRY_BACKOFF_BASE": ["0"],
    "CALICO_MAX_FAILED_AGENTS": ["0"],
    "CALICO_GONE_AGENT_RETENTION": ["0", "-1", "a week"],
    "CALICO_OPERATOR_TOKEN": ["short", "has a space in it ok", "tökén-with-ümlauts-0123"],
    "CALICO_BIND_ADDRESS": ["localhost", "300.1.1.1", "127.0.0.1,127.0.0.1", "127.0.0.1,"],
    "PORT0": ["-1", "65536", "http", "８０８０", "80_80"],
    "CALICO_LOG_LEVEL": ["verbose"],
}


@pytest.mark.parametrize("env_name, raw", [
    (name, raw) for name, raws in BAD_VALUES.items() for raw in raws])
def test_each_bad_value_is_reported_naming_the_variable(env_name, raw):
    with pytest.raises(ConfigError) as caught:
        load([], {env_name: raw})
    assert caught.value.problems[0].startswith(f"{env_name}:")


def test_bad_flag_value_is_reported_naming_the_flag():
    with pytest.raises(ConfigError) as caught:
        load(["--cni-mtu", "1"], {})
    assert caught.value.problems == ["--cni-mtu: must be at least 576, got 1"]


def test_all_problems_are_reported_together(tmp_path):
    env = {
        "MESOS_MASTER": "a:1,b:2",
        "CALICO_MAX_CONCURRENT_RESTARTS": "0",
        "CALICO_CNI_MTU": "big",
        "CALICO_ETCD_CA_FILE": str(tmp_path / "missing.pem"),
        "CALICO_NODE_IMAGE": "bad image",
        "MESOS_SECRET": "pw",  # without a principal
        "CALICO_RETRY_BACKOFF_BASE": "60",
        "CALICO_RETRY_BACKOFF_CAP": "30",
    }
    with pytest.raises(ConfigError) as caught:
        load(["--unknown-flag", "--port", "x"], env)
    problems = caught.value.problems
    named = ["command line", "MESOS_MASTER", "CALICO_MAX_CONCURRENT_RESTARTS",
             "CALICO_CNI_MTU", "CALICO_ETCD_CA_FILE", "CALICO_NODE_IMAGE",
             "MESOS_SECRET", "CALICO_RETRY_BACKOFF_CAP", "--port"]
    for name in named:
        assert any(problem.startswith(name) for problem in problems), (name, problems)
    assert len(problems) == len(named)


@pytest.mark.parametrize("env, needle", [
    ({"MESOS_SECRET": "a", "MESOS_SECRET_FILE": "/etc/hostname", "MESOS_PRINCIPAL": "p"},
     "give one, not both"),
    ({"CALICO_SERVICE_ACCOUNT_UID": "sa"}, "needs CALICO_SERVICE_ACCOUNT_PRIVATE_KEY"),
    ({"CALICO_SERVICE_ACCOUNT_PRIVATE_KEY": PEM}, "needs CALICO_SERVICE_ACCOUNT_UID"),
    ({"CALICO_ETCD_USERNAME": "calico"}, "give both or neither"),
    ({"CALICO_ETCD_PASSWORD": "pw"}, "give both or neither"),
    ({"CALICO_ETCD_ENDPOINTS": "https://e:2379"}, "need the CA that signed"),
    ({"CALICO_ETCD_PROXY_ENABLED": "false"}, "points at the local etcd proxy"),
    ({"CALICO_OPERATOR_TOKEN": TOKEN, "CALICO_OPERATOR_TOKEN_FILE": "/etc/hostname"},
     "give one, not both"),
])
def test_inconsistent_settings_are_reported(env, needle):
    with pytest.raises(ConfigError) as caught:
        load([], env)
    assert any(needle in problem for problem in caught.value.problems), caught.value.problems


@pytest.mark.parametrize("names, needle", [
    ({"CALICO_ETCD_CERT_FILE": "cert.pem"}, "give both or neither"),
    ({"CALICO_ETCD_CERT_FILE": "cert.pem", "CALICO_ETCD_KEY_FILE": "other-key.pem"},
     "not the key of the certificate"),
])
def test_inconsistent_tls_files_are_reported(files, names, needle):
    env = {"CALICO_ETCD_ENDPOINTS": "https://e:2379", "CALICO_ETCD_CA_FILE": files["ca.pem"],
           **{name: files[file] for name, file in names.items()}}
    with pytest.raises(ConfigError) as caught:
        load([], env)
    assert any(needle in problem for problem in caught.value.problems), caught.value.problems


def test_tls_files_need_https_endpoints(files):
    with pytest.raises(ConfigError) as caught:
        load([], {"CALICO_ETCD_CA_FILE": files["ca.pem"]})
    assert "endpoints use http" in caught.value.problems[0]


@pytest.mark.parametrize("name", ["CALICO_ETCD_CA_FILE", "CALICO_ETCD_CERT_FILE",
                                  "CALICO_ETCD_KEY_FILE"])
def test_a_tls_file_that_is_not_pem_is_named(files, name):
    """gRPC would take these bytes and report every etcd as unreachable, forever."""
    env = {"CALICO_ETCD_ENDPOINTS": "https://e:2379", "CALICO_ETCD_CA_FILE": files["ca.pem"],
           "CALICO_ETCD_CERT_FILE": files["cert.pem"], "CALICO_ETCD_KEY_FILE": files["key.pem"],
           name: files["garbage.pem"]}
    with pytest.raises(ConfigError) as caught:
        load([], env)
    assert caught.value.problems[0].startswith(f"{name}: {files['garbage.pem']} holds no")


def test_an_encrypted_tls_key_is_refused(files, tmp_path):
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(Path(files["key.pem"]).read_bytes(), None)
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase")))
    with pytest.raises(ConfigError) as caught:
        load([], {"CALICO_ETCD_KEY_FILE": str(encrypted)})
    assert "is encrypted" in caught.value.problems[0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_tls_key_is_refused(files):
    os.chmod(files["key.pem"], 0)
    with pytest.raises(ConfigError) as caught:
        load([], {"CALICO_ETCD_KEY_FILE": files["key.pem"]})
    assert "cannot read" in caught.value.problems[0]


def test_felix_numbers_keep_their_text():
    config = load([], {"CALICO_NODE_FELIX_ENV": '{"FELIX_A": 1e3, "FELIX_B": 0.50, '
                                                '"FELIX_C": 12345678901234567890}'})
    assert config.calico_node.felix_env == (
        ("FELIX_A", "1e3"), ("FELIX_B", "0.50"), ("FELIX_C", "12345678901234567890"))


def test_redacted_hides_passwords_and_query_values_in_every_url():
    config = load([], {"CALICO_CNI_PLUGIN_URL": "https://mirror/calico?X-Amz-Signature=abc&v=2",
                       "CALICO_ETCD_USERNAME": "calico", "CALICO_ETCD_PASSWORD": "etcd-pw"})
    hidden = config.redacted()
    assert hidden.cni.plugin_url == (
        "https://mirror/calico?X-Amz-Signature=<redacted>&v=<redacted>")
    assert hidden.etcd.password == "<redacted>" and hidden.etcd.username == "calico"
    assert "abc" not in repr(hidden) and "etcd-pw" not in repr(hidden)
    assert hidden.mesos.master == config.mesos.master


def test_docker_without_proxy_is_fine_with_a_remote_store():
    config = load([], {"CALICO_ETCD_PROXY_ENABLED": "false",
                       "CALICO_DOCKER_CLUSTER_STORE": "etcd://e1:2379"})
    assert config.agent_etcd_endpoints() == config.etcd.endpoints


def test_hostname_defaults_to_marathon_host():
    assert load([], {"HOST": "agent-7.example"}).framework.hostname == "agent-7.example"
    assert load([], {"HOST": "agent-7.example"}).webui_url(4242) == (
        "http://agent-7.example:4242/")


def test_redacted_hides_every_secret(files):
    config = load([], {
        "MESOS_PRINCIPAL": "p", "MESOS_SECRET": "mesos-pw",
        "CALICO_SERVICE_ACCOUNT_UID": "sa", "CALICO_SERVICE_ACCOUNT_PRIVATE_KEY": PEM,
        "CALICO_OPERATOR_TOKEN": TOKEN,
    })
    text = repr(config.redacted().as_dict())
    for secret in ("mesos-pw", PEM.splitlines()[1], TOKEN):
        assert secret in repr(config.as_dict())
        assert secret not in text
    assert config.redacted().mesos.principal == "p"
    assert config.mesos.secret == "mesos-pw", "the original stays intact"


def test_service_account_key_may_be_a_dcos_credential_json():
    credential = json.dumps({"scheme": "RS256", "uid": "sa", "private_key": PEM,
                             "login_endpoint": "https://leader.mesos/acs/api/v1/auth/login"})
    config = load([], {"CALICO_SERVICE_ACCOUNT_UID": "sa",
                       "CALICO_SERVICE_ACCOUNT_PRIVATE_KEY": credential})
    assert config.mesos.service_account.private_key == PEM + "\n"
    with pytest.raises(ConfigError):
        load([], {"CALICO_SERVICE_ACCOUNT_UID": "sa",
                  "CALICO_SERVICE_ACCOUNT_PRIVATE_KEY": '{"uid": "sa"}'})


def test_config_is_immutable():
    config = load([], {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.rollout.max_concurrent_restarts = 5  # type: ignore[misc]
