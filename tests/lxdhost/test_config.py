"""Stack configuration: one table of keys, decoded as the CLI passes them, every problem at once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from ipaddress import IPv4Address
from typing import Any

import pulumi
import pytest
import yaml

from lxdhost import config
from lxdhost.config import (
    CONFIG_KEYS,
    CONFIG_KEYS_BY_NAME,
    STACK_HOST_OPTIONS,
    STACK_KEYS_BY_FIELD,
    ConfigError,
    Settings,
    parse_settings,
)
from lxdhost.host import ContainerAccess
from lxdhost.network import AdoptStage, NetworkMode
from lxdhost.offline import PROJECT_ROOT
from userdata import HostSpec, render_host

MINIMAL = {
    "lxdhost:image": "ubuntu-24.04",
    "lxdhost:flavor": "m1.medium",
    "lxdhost:externalNetwork": "public",
    "lxdhost:keyPair": "ops",
}


def with_(**overrides: object) -> dict[str, object]:
    """MINIMAL plus `lxdhost:` overrides; a value of None removes the key."""
    values: dict[str, object] = dict(MINIMAL)
    for name, value in overrides.items():
        key = name if ":" in name else f"lxdhost:{name}"
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return values


def host_names(settings: Settings) -> tuple[str, ...]:
    return tuple(host.host_name for host in settings.address_plan.hosts)


def problems_of(values: Mapping[str, object]) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(values)
    return caught.value.problems


def test_defaults_give_the_blogs_layout() -> None:
    settings = parse_settings(MINIMAL)
    plan = settings.address_plan
    assert settings.network.mode is NetworkMode.CREATE
    assert host_names(settings) == ("lxd-1",)
    assert str(plan.allocation_pool) == "192.168.0.2-192.168.0.20"
    assert str(plan.reserved_range) == "192.168.0.21-192.168.0.254"
    assert len(plan.hosts[0].container_slots) == 10
    assert settings.network.dns_nameservers == (
        IPv4Address("8.8.4.4"),
        IPv4Address("8.8.8.8"),
    )
    assert settings.access.ssh_ingress == (), "SSH must be closed unless the stack opens it"
    assert settings.access.container_access is ContainerAccess.ADDRESS_PAIRS
    assert settings.hosts.floating_ips is False
    assert settings.hosts.ssh_user == "ubuntu"
    assert settings.hosts.boot_volume_size is None
    assert settings.network.mtu is None


@pytest.mark.parametrize(
    ("overrides", "read", "expected"),
    [
        pytest.param(
            {"hostCount": "3"},
            host_names,
            ("lxd-1", "lxd-2", "lxd-3"),
            id="integer-as-cli-string",
        ),
        pytest.param(
            {"floatingIps": "true"}, lambda s: s.hosts.floating_ips, True, id="boolean-as-string"
        ),
        pytest.param(
            {"sshIngress": '["198.51.100.0/24"]'},
            lambda s: tuple(map(str, s.access.ssh_ingress)),
            ("198.51.100.0/24",),
            id="list-as-json-text",
        ),
        pytest.param(
            {"hostNames": ["web-a", "web-b"]},
            host_names,
            ("web-a", "web-b"),
            id="already-typed-list",
        ),
        pytest.param(
            {"distro": "debian"}, lambda s: s.hosts.ssh_user, "debian", id="ssh-user-by-distro"
        ),
        pytest.param({"mtu": "1400"}, lambda s: s.network.mtu, 1400, id="explicit-mtu"),
        pytest.param(
            {"bootVolumeSize": "0"}, lambda s: s.hosts.boot_volume_size, None, id="zero-is-unset"
        ),
    ],
)
def test_values_decode_from_the_clis_wire_form(
    overrides: dict[str, object], read: Callable[[Settings], object], expected: object
) -> None:
    assert read(parse_settings(with_(**overrides))) == expected


@pytest.mark.parametrize(
    ("overrides", "key", "fragment"),
    [
        pytest.param({"image": None}, "image", "required", id="image-missing"),
        pytest.param({"flavor": ""}, "flavor", "must not be empty", id="flavor-empty"),
        pytest.param({"networkMode": "reuse"}, "networkMode", "not one of", id="bad-mode"),
        pytest.param({"externalNetwork": None}, "externalNetwork", "create mode", id="no-external"),
        pytest.param(
            {"networkMode": "adopt"}, "subnetId", "required in adopt mode", id="adopt-no-subnet"
        ),
        pytest.param({"subnetId": "abc"}, "subnetId", "only used in adopt", id="subnet-in-create"),
        pytest.param(
            {"networkMode": "adopt", "subnetId": "default"},
            "subnetId",
            "not a Neutron ID",
            id="subnet-name-not-id",
        ),
        pytest.param({"cidr": "2001:db8::/64"}, "cidr", "IPv6", id="ipv6"),
        pytest.param({"hostCount": "three"}, "hostCount", "integer", id="count-not-integer"),
        pytest.param({"hostCount": 0}, "hostCount", "1-250", id="count-zero"),
        pytest.param(
            {"hostNames": ["a", "B_2"]}, "hostNames[1]", "not a host name", id="bad-host-name"
        ),
        pytest.param({"hostNames": ["a", "a"]}, "hostNames[1]", "twice", id="duplicate-name"),
        pytest.param(
            {"hostNames": ["a", "b"], "hostCount": 3}, "hostCount", "disagrees", id="count-vs-names"
        ),
        pytest.param({"hostNames": "lxd-a"}, "hostNames", "a list", id="names-not-a-list"),
        pytest.param({"keyPair": None}, "keyPair", "or publicKey", id="no-key"),
        pytest.param({"publicKey": "ssh-ed25519 AAAA x"}, "publicKey", "not both", id="two-keys"),
        pytest.param(
            {"keyPair": None, "publicKey": "hello"}, "publicKey", "OpenSSH", id="bad-public-key"
        ),
        pytest.param(
            {"sshIngress": ["0.0.0.0/0", "10.0.0.1/8"]},
            "sshIngress[1]",
            "not a CIDR",
            id="ingress-host-bits",
        ),
        pytest.param({"lxdApiPort": 70000}, "lxdApiPort", "1-65535", id="api-port-range"),
        pytest.param({"slotsPerHost": 11}, "slotsPerHost", "maxAddressPairs", id="over-pairs"),
        pytest.param(
            {"slotsPerHost": 40, "cidr": "10.0.0.0/27", "containerAccess": "port-security-off"},
            "slotsPerHost",
            "at most 0 host(s) x 40 slot(s) fit",
            id="slots-do-not-fit",
        ),
        pytest.param({"containerAccess": "open"}, "containerAccess", "not one of", id="bad-access"),
        pytest.param({"distro": "centos"}, "distro", "not one of", id="bad-distro"),
        pytest.param({"hostNetwork": "nm"}, "hostNetwork", "not one of", id="bad-renderer"),
        pytest.param({"lxdInit": "auto"}, "lxdInit", "not one of", id="bad-lxd-init"),
        pytest.param({"storageBackend": "ceph"}, "storageBackend", "not one of", id="bad-storage"),
        pytest.param({"floatingIps": "yes"}, "floatingIps", "true or false", id="bad-boolean"),
        pytest.param({"mtu": 100}, "mtu", "576-9216", id="mtu-too-small"),
        pytest.param({"interface": "ens 3"}, "interface", "not a Linux interface", id="bad-nic"),
        pytest.param({"interface": "br0"}, "interface", "the bridge's name", id="nic-is-bridge"),
        pytest.param({"bootVolumeSize": -1}, "bootVolumeSize", "at least 0", id="negative-volume"),
        pytest.param({"dnsServers": ["8.8.8"]}, "dnsServers[0]", "not an IP", id="bad-dns"),
        pytest.param(
            {"dnsServers": ["192.168.0.53"]}, "dnsServers[0]", "reserved", id="dns-in-slots"
        ),
        pytest.param({"packages": ["Bad Name"]}, "packages[0]", "package", id="bad-package"),
        pytest.param({"dhcpPoolSize": 1}, "dhcpPoolSize", "at least 2", id="pool-too-small"),
        pytest.param({"sshIngres": ["10.0.0.0/8"]}, "sshIngres", "sshIngress", id="typo-key"),
        pytest.param({"adoptStage": "done"}, "adoptStage", "not one of", id="bad-adopt-stage"),
        pytest.param(
            {"serverStatusRead": "never"}, "serverStatusRead", "not one of", id="bad-status-read"
        ),
        pytest.param(
            {"imageUpdates": "rebuild"}, "imageUpdates", "not one of", id="bad-image-updates"
        ),
    ],
)
def test_a_bad_value_is_rejected_naming_its_key(
    overrides: dict[str, object], key: str, fragment: str
) -> None:
    problems = problems_of(with_(**overrides))
    assert any(p.startswith(f"{key}: ") and fragment in p for p in problems), problems


def test_every_bad_key_is_reported_in_one_error() -> None:
    problems = problems_of(
        with_(image=None, cidr="10.0.0.0/33", sshIngress=["x"], hostCount="many", colour="blue")
    )
    keys = {p.split(": ")[0] for p in problems}
    assert {"image", "cidr", "sshIngress[0]", "hostCount", "colour"} <= keys


def test_keys_of_other_namespaces_are_not_ours_to_reject() -> None:
    # The provider reads openstack:cloud itself; the program leaves it to it.
    parse_settings(with_(**{"openstack:cloud": "mycloud", "aws:region": "x"}))


def test_adopt_import_stage_declares_no_hosts() -> None:
    values = with_(
        networkMode="adopt",
        subnetId="a2b72e5b-48ec-46f0-ab40-df56e698bea2",
        externalNetwork=None,
    )
    assert parse_settings(values).network.adopt_stage is AdoptStage.IMPORT
    assert not parse_settings(values).declares_hosts
    assert parse_settings({**values, "lxdhost:adoptStage": "manage"}).declares_hosts


def test_load_settings_raises_a_run_error_listing_every_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        config, "stack_config_from_runtime", lambda: with_(image=None, hostCount="x")
    )
    with pytest.raises(pulumi.RunError) as caught:
        config.load_settings()
    message = str(caught.value)
    assert "lxdhost:image: required" in message
    assert "lxdhost:hostCount: expected an integer" in message
    assert "Traceback" not in message


def test_the_program_shows_a_bad_stack_once_and_ends_as_already_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        config, "stack_config_from_runtime", lambda: with_(image=None, hostCount="x")
    )
    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "error", logged.append)
    with pytest.raises(SystemExit) as ended:
        config.load_settings_or_exit()
    # 32: the language host's "the program has shown its error"; with 1 the engine adds a line.
    assert ended.value.code == 32
    assert len(logged) == 1
    assert "lxdhost:image: required" in logged[0]
    assert "lxdhost:hostCount: expected an integer" in logged[0]


ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample ops@example"

# The same value given to the stack (its key's overrides) and to userdata (HostSpec's fields).
SHARED_RULES = [
    pytest.param({"packages": '["zfsutils-linux"]'}, {"packages": ("zfsutils-linux",)}, True,
                 id="package"),
    pytest.param({"packages": '["libc6:i386"]'}, {"packages": ("libc6:i386",)}, True,
                 id="package-with-architecture"),
    pytest.param({"packages": '["x"]'}, {"packages": ("x",)}, False, id="package-one-character"),
    pytest.param({"packages": '["Htop"]'}, {"packages": ("Htop",)}, False, id="package-uppercase"),
    pytest.param({"packages": '["foo_bar"]'}, {"packages": ("foo_bar",)}, False,
                 id="package-underscore"),
    pytest.param({"keyPair": None, "publicKey": ED25519}, {"ssh_authorized_keys": (ED25519,)},
                 True, id="key-ed25519"),
    pytest.param({"keyPair": None, "publicKey": "ssh-dss AAAAB3NzaC1kc3M="},
                 {"ssh_authorized_keys": ("ssh-dss AAAAB3NzaC1kc3M=",)}, False,
                 id="key-dsa-refused-by-openssh"),
    pytest.param({"keyPair": None, "publicKey": "ecdsa-sha2-nistp999 AAAAE2VjZHNh"},
                 {"ssh_authorized_keys": ("ecdsa-sha2-nistp999 AAAAE2VjZHNh",)}, False,
                 id="key-unknown-curve"),
    pytest.param({"mtu": "575"}, {"mtu": 575}, False, id="mtu-below"),
    pytest.param({"mtu": "576"}, {"mtu": 576}, True, id="mtu-lowest"),
    pytest.param({"mtu": "9216"}, {"mtu": 9216}, True, id="mtu-highest"),
    pytest.param({"mtu": "9217"}, {"mtu": 9217}, False, id="mtu-above"),
]  # fmt: skip


@pytest.mark.parametrize(("stack_keys", "spec_fields", "valid"), SHARED_RULES)
def test_the_stack_and_userdata_apply_the_same_rule(
    stack_keys: dict[str, object], spec_fields: dict[str, Any], valid: bool
) -> None:
    stack_problems = config_problems(with_(**stack_keys))
    assert (stack_problems == []) is valid, stack_problems
    userdata_problems = HostSpec(**spec_fields).problems()
    assert (userdata_problems == []) is valid, userdata_problems


def config_problems(values: Mapping[str, object]) -> list[str]:
    try:
        parse_settings(values)
    except ConfigError as error:
        return list(error.problems)
    return []


def test_distro_default_renderer_is_left_to_userdata() -> None:
    settings = parse_settings(with_(distro="debian"))
    assert settings.hosts.spec_template.distro == "debian"
    assert settings.hosts.spec_template.host_network is None


def test_host_options_make_the_stacks_host_spec_template() -> None:
    settings = parse_settings(
        with_(
            distro="debian",
            hostNetwork="netplan",
            lxdInit="module",
            storageBackend="btrfs",
            packages='["jq", "htop"]',
            lxdApiIngress='["10.0.0.0/8"]',
            lxdApiPort="8444",
            interface="enp1s0",
        )
    )
    assert settings.hosts.spec_template == HostSpec(
        distro="debian",
        host_network="netplan",
        interface="enp1s0",
        lxd_init="module",
        storage_backend="btrfs",
        packages=("jq", "htop"),
        lxd_api_address="::",
        lxd_api_port=8444,
    )


def test_lxd_listens_only_on_its_socket_while_its_api_is_closed() -> None:
    template = parse_settings(with_(lxdApiPort="8444")).hosts.spec_template
    assert template.lxd_api_address is None
    assert "8444" not in render_host(template)


# --- the host options: HostSpec's declarations as stack keys ----------------------------------


@pytest.mark.parametrize(
    ("name", "type_", "default", "choices"),
    [
        pytest.param("distro", "string", "ubuntu", ("ubuntu", "debian"), id="choice"),
        pytest.param("hostNetwork", "string", "", ("", "netplan", "ifupdown"), id="unset-choice"),
        pytest.param("mtu", "integer", 0, (), id="unset-integer"),
        pytest.param("lxdApiPort", "integer", 8443, (), id="integer"),
        pytest.param("packages", "array", (), (), id="list"),
    ],
)
def test_a_host_option_is_a_stack_key_as_hostspec_declares_it(
    name: str, type_: str, default: object, choices: tuple[str, ...]
) -> None:
    key = CONFIG_KEYS_BY_NAME[name]
    assert (key.type, key.default, key.choices) == (type_, default, choices)


def test_every_stack_host_option_has_its_fields_help_and_camel_case_name() -> None:
    for option in STACK_HOST_OPTIONS:
        key = CONFIG_KEYS_BY_NAME[STACK_KEYS_BY_FIELD[option.name]]
        assert key.description == option.help, option.name
        assert key.name == "".join(
            word.capitalize() if index else word
            for index, word in enumerate(option.name.split("_"))
        )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param({"lxdApiPort": 0}, "lxdApiPort: 0 is not a TCP port (1-65535)", id="field"),
        pytest.param(
            {"packages": ["jq", "Bad"]},
            "packages[1]: 'Bad' is not a Debian package name",
            id="item-of-a-field",
        ),
        pytest.param({"mtu": -1}, "mtu: -1 is outside 576-9216", id="same-name"),
    ],
)
def test_hostspecs_problem_with_a_host_option_names_its_stack_key(
    overrides: dict[str, object], expected: str
) -> None:
    assert problems_of(with_(**overrides)) == (expected,)


@pytest.mark.parametrize("key", CONFIG_KEYS, ids=lambda key: key.name)
def test_only_required_keys_lack_a_default(key: config.ConfigKey) -> None:
    # Pulumi makes a key that Pulumi.yaml declares without a default required: the program
    # requires exactly those keys, whatever else is set, and only image and flavor are.
    declared = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())["config"]
    required_by_pulumi = key.declared and "default" not in declared[key.name]
    try:
        parse_settings(with_(**{key.name: None}))
        problems: tuple[str, ...] = ()
    except ConfigError as error:
        problems = error.problems
    required_by_the_program = any(p.startswith(f"{key.name}: required: ") for p in problems)
    assert required_by_pulumi == required_by_the_program
    assert required_by_pulumi == (key.name in ("image", "flavor"))


def test_unset_host_options_are_none_in_the_hosts_spec() -> None:
    template = parse_settings(with_(hostNetwork="", mtu="0")).hosts.spec_template
    assert (template.host_network, template.mtu) == (None, None)
