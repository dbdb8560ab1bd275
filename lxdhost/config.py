"""The stack's configuration, read once into typed, validated settings.

`CONFIG_KEYS` declares every `lxdhost:` key (name, type, default, meaning): the stack's own
keys here, and the host options as `HostSpec` declares them (`userdata.options`; `bringUp` is
`HostSpec.bring_up`). The `config:` block of `Pulumi.yaml` and the table in
docs/configuration.md are generated from it (`python -m lxdhost options --write`) and checked
against it by the tests. `parse_settings` is a pure function over the configuration as the
Pulumi CLI hands it to a program (fully qualified keys; every value a string, lists
JSON-encoded); it collects every problem, each naming its key, and raises one `ConfigError`.
`load_settings` wraps it for the program and turns that error into a `pulumi.RunError`, which
Pulumi prints without a stack trace, before any resource is registered.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any, Literal, TypeVar

import pulumi
import pulumi.runtime.config as runtime_config

from lxdhost.addressing import AddressPlan, AddressPlanError, AddressRequest, plan_addresses
from lxdhost.containers import ContainerDeclaration, parse_containers
from lxdhost.host import LXD_LISTEN_ADDRESS, ContainerAccess, ImageUpdates
from lxdhost.interrupt import ERROR_REPORTED_EXIT_CODE
from lxdhost.network import AdoptStage, NetworkMode
from lxdhost.server_status import ServerStatusRead
from userdata import HostSpec
from userdata.cloudconfig import is_ssh_public_key
from userdata.host import HOST_OPTIONS, Distro
from userdata.options import HostOption
from userdata.validation import Problem

PROJECT = "lxdhost"

ConfigType = Literal["string", "integer", "boolean", "array"]
ConfigValue = str | int | bool | tuple[str, ...]
_Choice = TypeVar("_Choice", bound=StrEnum)


@dataclass(frozen=True)
class ConfigKey:
    """One `lxdhost:` key. `default=None` means required (Pulumi.yaml declares no default)."""

    name: str
    type: ConfigType
    default: ConfigValue | None
    description: str
    choices: tuple[str, ...] = ()
    # False: Pulumi.yaml does not declare it, because Pulumi's project config has no type for
    # it (a list of mappings); the program checks it alone.
    declared: bool = True


class LxdManagement(StrEnum):
    """How the hosts' LXD is managed after their first boot."""

    USER_DATA = "user-data"
    API = "api"


# Empty strings, 0 and [] stand for "not set": Pulumi makes a declared key without a default
# required, so every optional key needs a declared default that means "unset".
_UNSET: dict[ConfigType, ConfigValue] = {"string": "", "integer": 0, "array": ()}
_STACK_TYPES: dict[object, ConfigType] = {
    str: "string",
    int: "integer",
    bool: "boolean",
    tuple[str, ...]: "array",
}


def _host_option_key(option: HostOption) -> ConfigKey:
    """A host option's `lxdhost:` key: its camelCase name, type, default, choices and help."""
    type_ = "string" if option.choices else _STACK_TYPES.get(option.base_type)
    if option.stack_key is None or type_ is None or (option.optional and type_ not in _UNSET):
        raise TypeError(f"HostSpec.{option.name} cannot be a stack key: {option.type}")
    choices = tuple(str(choice) for choice in option.choices)
    default = option.default
    if option.optional:
        choices = ("", *choices) if choices else ()
        default = _UNSET[type_] if default is None else default
    if not isinstance(default, str | int | bool | tuple):
        raise TypeError(f"HostSpec.{option.name}'s default {default!r} is no stack value")
    return ConfigKey(option.stack_key, type_, default, option.help, choices)


# The HostSpec fields a stack sets, and their keys: the stack's host options.
STACK_HOST_OPTIONS: tuple[HostOption, ...] = tuple(o for o in HOST_OPTIONS if o.stack_key)
HOST_OPTION_KEYS: tuple[ConfigKey, ...] = tuple(map(_host_option_key, STACK_HOST_OPTIONS))
# A HostSpec field's stack key, for the problems userdata finds (`lxd_api_port` -> `lxdApiPort`).
STACK_KEYS_BY_FIELD: Mapping[str, str] = {
    option.name: key.name for option, key in zip(STACK_HOST_OPTIONS, HOST_OPTION_KEYS, strict=True)
}

CONFIG_KEYS: tuple[ConfigKey, ...] = (
    ConfigKey("networkMode", "string", "create",
              "`create`: a new network, subnet and router; `adopt`: reduce the pool of the "
              "existing subnet `subnetId` (see the adopt flow)",
              tuple(NetworkMode)),
    ConfigKey("externalNetwork", "string", "",
              "Name of the external network: the router's gateway (create mode) and the "
              "floating IP pool. Required in create mode and whenever `floatingIps` is true"),
    ConfigKey("subnetId", "string", "",
              "ID of the existing subnet to adopt (adopt mode only)"),
    ConfigKey("adoptStage", "string", "import",
              "Adopt mode: `import` takes the subnet into the stack unchanged and declares "
              "nothing else; `manage` then reduces its pool and builds the hosts",
              tuple(AdoptStage)),
    ConfigKey("cidr", "string", "192.168.0.0/24",
              "IPv4 CIDR of the subnet (adopt mode: the existing subnet's CIDR)"),
    ConfigKey("gateway", "string", "",
              "Gateway address; empty: the first host address of `cidr`"),
    ConfigKey("dnsServers", "array", ("8.8.4.4", "8.8.8.8"),
              "DNS servers of the subnet (create mode) and of the containers' static "
              "network configuration"),
    ConfigKey("dhcpPoolSize", "integer", 19,
              "Size of the reduced DHCP allocation pool, from the first host address after "
              "the gateway; it must hold every host plus Neutron's DHCP port"),
    ConfigKey("dhcpPoolStart", "string", "",
              "Explicit first address of the pool (set with `dhcpPoolEnd`; overrides "
              "`dhcpPoolSize`)"),
    ConfigKey("dhcpPoolEnd", "string", "",
              "Explicit last address of the pool (set with `dhcpPoolStart`)"),
    ConfigKey("hostCount", "integer", 1,
              "Number of LXD hosts, named `lxd-1`, `lxd-2`, ...; ignored when `hostNames` "
              "is set (then it must be 1 or the number of names)"),
    ConfigKey("hostNames", "array", (),
              "Explicit host names (DNS labels); empty: `hostCount` hosts named `lxd-N`"),
    ConfigKey("image", "string", None,
              "Glance image name the hosts boot"),
    ConfigKey("flavor", "string", None,
              "Nova flavor name of the hosts"),
    ConfigKey("keyPair", "string", "",
              "Name of an existing Nova key pair (this or `publicKey` is required)"),
    ConfigKey("publicKey", "string", "",
              "OpenSSH public key to upload as a new key pair (this or `keyPair`)"),
    ConfigKey("bootVolumeSize", "integer", 0,
              "Boot from a new Cinder volume of this many GiB; 0: the flavor's local disk"),
    ConfigKey("imageUpdates", "string", "new-hosts",
              "What a host that is up does when its image changes (`image` names another, or "
              "Glance's image of that name is deleted, renamed or, for a boot volume, uploaded "
              "again): `new-hosts` keeps it on the image it booted from, and only hosts created "
              "or replaced later boot the new one; `replace` replaces it, with its containers, "
              "at the next `up`. See docs/troubleshooting.md, \"Re-uploading the hosts' image\"",
              tuple(ImageUpdates)),
    ConfigKey("sshIngress", "array", (),
              "CIDRs allowed to reach SSH (22/tcp) and ICMP on the hosts; empty: closed. "
              "0.0.0.0/0 only when listed"),
    ConfigKey("lxdApiIngress", "array", (),
              "CIDRs allowed to reach LXD's API port; empty: closed. With `lxdManagement: "
              "api`, it must include the address `pulumi` runs from"),
    ConfigKey("lxdManagement", "string", "user-data",
              "How the hosts' LXD is managed: `user-data` writes the slot profiles into each "
              "host's user_data (a slot change rebuilds the host); `api` has each host trust "
              "the stack's client certificate and manages its slot profiles and the "
              "`containers` through LXD's API, live",
              tuple(LxdManagement)),
    ConfigKey("containers", "array", (),
              "Containers on the hosts (`lxdManagement: api`), a list of mappings: name, host, "
              "slot, image (an alias on the host, or one of alias with server, fingerprint or "
              "file), userData, profiles; see docs/containers.md. Not declared in Pulumi.yaml, "
              "whose config types have no mapping",
              declared=False),
    # The host options, as HostSpec declares them (userdata/host.py).
    *HOST_OPTION_KEYS,
    ConfigKey("slotsPerHost", "integer", 10,
              "Container slots (static address + MAC, LXD profile `slot-NN`) per host"),
    ConfigKey("containerAccess", "string", "address-pairs",
              "How Neutron lets containers' traffic through the host's port: "
              "`address-pairs` (one allowed address pair per slot, IP and MAC) or "
              "`port-security-off` (no anti-spoofing and no security group on the port)",
              tuple(ContainerAccess)),
    ConfigKey("maxAddressPairs", "integer", 10,
              "The cloud's `max_allowed_address_pair` (Neutron's default: 10); "
              "`slotsPerHost` must not exceed it in address-pairs mode"),
    ConfigKey("floatingIps", "boolean", False,
              "Give each host a floating IP from `externalNetwork`"),
    ConfigKey("sshUser", "string", "",
              "Login user in the exported SSH commands; empty: the distro's (ubuntu, debian)"),
    ConfigKey("serverStatusRead", "string", "live",
              "Where each `preview` and `up` reads the status of the hosts' servers, to warn of "
              "one that is not running: `live` asks Nova (nine API requests a host, at every "
              "run); `refreshed` takes the status the last refresh stored, with no request "
              "(run `pulumi preview --refresh` and `pulumi up --refresh` to see a change)",
              tuple(ServerStatusRead)),
)  # fmt: skip

CONFIG_KEYS_BY_NAME: Mapping[str, ConfigKey] = {key.name: key for key in CONFIG_KEYS}


_UUID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")
_HOST_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_DEFAULT_SSH_USER: dict[Distro, str] = {"ubuntu": "ubuntu", "debian": "debian"}


class ConfigError(ValueError):
    """The stack's configuration is invalid; `problems` holds one line per bad key."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(format_problems(self.problems))


def format_problems(problems: Sequence[str]) -> str:
    lines = [f"the stack's configuration has {len(problems)} problem(s):"]
    lines.extend(f"  {PROJECT}:{problem}" for problem in problems)
    return "\n".join(lines)


@dataclass(frozen=True)
class NetworkSettings:
    """The subnet: created or adopted, and what the containers' network config needs."""

    mode: NetworkMode
    adopt_stage: AdoptStage
    external_network: str | None
    subnet_id: str | None
    dns_nameservers: tuple[IPv4Address, ...]
    mtu: int | None


@dataclass(frozen=True)
class HostSettings:
    """The LXD hosts: Nova boot arguments and what their user_data is made of (their names are
    the address plan's)."""

    image_name: str
    flavor_name: str
    key_pair: str | None
    public_key: str | None
    boot_volume_size: int | None
    # What a change of the image does to the hosts that are up.
    image_updates: ImageUpdates
    ssh_user: str
    floating_ips: bool
    # Where each run reads the servers' status: Nova, or the last refresh's state.
    server_status_read: ServerStatusRead
    # What every host's user_data shares; each host adds its port's MAC, the MTU and its slots.
    spec_template: HostSpec


@dataclass(frozen=True)
class AccessSettings:
    """Who may reach the hosts, and how Neutron lets the containers' traffic through."""

    ssh_ingress: tuple[IPv4Network | IPv6Network, ...]
    lxd_api_ingress: tuple[IPv4Network | IPv6Network, ...]
    lxd_api_port: int
    container_access: ContainerAccess
    max_address_pairs: int


@dataclass(frozen=True)
class LxdSettings:
    """How the hosts' LXD is managed, and the containers the stack declares on them."""

    management: LxdManagement
    containers: tuple[ContainerDeclaration, ...] = ()

    @property
    def through_api(self) -> bool:
        return self.management is LxdManagement.API


@dataclass(frozen=True)
class Settings:
    """Everything the program needs, validated; `address_plan` is already computed."""

    network: NetworkSettings
    hosts: HostSettings
    access: AccessSettings
    address_plan: AddressPlan
    lxd: LxdSettings = LxdSettings(LxdManagement.USER_DATA)

    @property
    def declares_hosts(self) -> bool:
        """False during the adopt flow's import step, which must change nothing."""
        return not (
            self.network.mode is NetworkMode.ADOPT and self.network.adopt_stage is AdoptStage.IMPORT
        )


class _Reader:
    """Decodes raw values by their declared type, collecting problems instead of raising."""

    def __init__(self, raw: Mapping[str, object]) -> None:
        self.raw = raw
        self.problems: list[str] = []

    def value(self, name: str) -> ConfigValue | None:
        key = CONFIG_KEYS_BY_NAME[name]
        raw = self.raw.get(f"{PROJECT}:{name}")
        if raw is None:
            if key.default is None:
                self.problems.append(f"{name}: required: {key.description}")
            return key.default
        decoded = _decode(key, raw)
        if isinstance(decoded, _Invalid):
            self.problems.append(f"{name}: {decoded.reason}")
            return key.default
        if key.choices and decoded not in key.choices:
            allowed = ", ".join(repr(c) for c in key.choices if c) or "none"
            self.problems.append(f"{name}: {decoded!r} is not one of {allowed}")
            return key.default
        return decoded

    def choice(self, name: str, choices: type[_Choice]) -> _Choice:
        value = self.value(name)
        if isinstance(value, str) and value in choices.__members__.values():
            return choices(value)
        return choices(str(CONFIG_KEYS_BY_NAME[name].default))

    def string(self, name: str) -> str:
        value = self.value(name)
        return value if isinstance(value, str) else ""

    def optional_string(self, name: str) -> str | None:
        return self.string(name).strip() or None

    def integer(self, name: str, minimum: int, maximum: int | None = None) -> int:
        value = self.value(name)
        key = CONFIG_KEYS_BY_NAME[name]
        if not isinstance(value, int) or isinstance(value, bool):
            return key.default if isinstance(key.default, int) else 0
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"at least {minimum}" if maximum is None else f"{minimum}-{maximum}"
            self.problems.append(f"{name}: must be {bounds}, got {value}")
        return value

    def boolean(self, name: str) -> bool:
        return self.value(name) is True

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.value(name)
        return value if isinstance(value, tuple) else ()

    def networks(self, name: str) -> tuple[IPv4Network | IPv6Network, ...]:
        networks = []
        for index, text in enumerate(self.strings(name)):
            try:
                networks.append(ip_network(text, strict=True))
            except ValueError:
                self.problems.append(
                    f"{name}[{index}]: {text!r} is not a CIDR such as 203.0.113.0/24"
                )
        return tuple(networks)


@dataclass(frozen=True)
class _Invalid:
    reason: str


def _decode(key: ConfigKey, raw: object) -> ConfigValue | _Invalid:
    """A raw value (the CLI's string, or an already typed value) as the key's declared type."""
    if key.type == "string":
        if isinstance(raw, str):
            return raw
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return str(raw)
        return _Invalid(f"expected a string, got {json.dumps(raw)}")
    if key.type == "integer":
        if isinstance(raw, bool):
            return _Invalid(f"expected an integer, got {json.dumps(raw)}")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str) and re.fullmatch(r"-?[0-9]+", raw.strip()):
            return int(raw)
        return _Invalid(f"expected an integer, got {raw!r}")
    if key.type == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        return _Invalid(f"expected true or false, got {raw!r}")
    # array of strings: the CLI passes a list as its JSON text
    items = raw
    if isinstance(raw, str):
        try:
            items = json.loads(raw)
        except json.JSONDecodeError:
            return _Invalid(f"expected a list (a YAML sequence), got {raw!r}")
    if not isinstance(items, list | tuple):
        return _Invalid(f"expected a list (a YAML sequence), got {raw!r}")
    bad = [i for i, item in enumerate(items) if not isinstance(item, str)]
    if bad:
        return _Invalid(f"item {bad[0]} is not a string: {json.dumps(items[bad[0]])}")
    return tuple(str(item) for item in items)


def parse_settings(raw: Mapping[str, object]) -> Settings:
    """The settings from the stack's configuration, or `ConfigError` listing every problem.

    `raw` maps fully qualified keys (`lxdhost:cidr`, `openstack:cloud`) to values as the CLI
    passes them (strings; lists as JSON) or as already typed values. Unset keys take the
    defaults of `CONFIG_KEYS`.
    """
    read = _Reader(raw)
    _check_unknown_keys(raw, read.problems)

    mode = read.choice("networkMode", NetworkMode)
    adopt_stage = read.choice("adoptStage", AdoptStage)
    external_network = read.optional_string("externalNetwork")
    subnet_id = read.optional_string("subnetId")
    if mode is NetworkMode.CREATE:
        if external_network is None:
            read.problems.append(
                "externalNetwork: required in create mode: the router's gateway network"
            )
        if subnet_id is not None:
            read.problems.append("subnetId: only used in adopt mode (networkMode: adopt)")
    elif subnet_id is None:
        read.problems.append("subnetId: required in adopt mode: the ID of the subnet to adopt")
    elif not _UUID.match(subnet_id):
        read.problems.append(
            f"subnetId: {subnet_id!r} is not a Neutron ID (a UUID); find it with "
            "`openstack subnet show NAME -f value -c id`"
        )

    dns_nameservers = _dns_nameservers(read)
    host_options = _host_options(read)

    names = _host_names(read)
    image_name = read.string("image").strip()
    flavor_name = read.string("flavor").strip()
    for name, value in (("image", image_name), ("flavor", flavor_name)):
        if name in map(_unqualified, raw) and not value:
            read.problems.append(f"{name}: must not be empty")
    key_pair = read.optional_string("keyPair")
    public_key = read.optional_string("publicKey")
    if key_pair and public_key:
        read.problems.append("publicKey: set keyPair or publicKey, not both")
    elif not key_pair and not public_key:
        read.problems.append(
            "keyPair: set keyPair (an existing Nova key pair) or publicKey (uploaded as one)"
        )
    if public_key and not is_ssh_public_key(public_key):
        read.problems.append("publicKey: not an OpenSSH public key such as 'ssh-ed25519 AAAA...'")
    boot_volume_size = read.integer("bootVolumeSize", 0)
    image_updates = read.choice("imageUpdates", ImageUpdates)
    floating_ips = read.boolean("floatingIps")
    if floating_ips and external_network is None and mode is NetworkMode.ADOPT:
        read.problems.append("externalNetwork: required when floatingIps is true: the IP pool")
    ssh_user = read.optional_string("sshUser")
    server_status_read = read.choice("serverStatusRead", ServerStatusRead)
    container_access = read.choice("containerAccess", ContainerAccess)
    max_address_pairs = read.integer("maxAddressPairs", 1)
    slots_per_host = read.integer("slotsPerHost", 1)
    if container_access is ContainerAccess.ADDRESS_PAIRS and slots_per_host > max_address_pairs:
        read.problems.append(
            f"slotsPerHost: {slots_per_host} slots need {slots_per_host} allowed address pairs "
            f"per port, over maxAddressPairs ({max_address_pairs}, Neutron's "
            "max_allowed_address_pair); lower slotsPerHost, raise the cloud's limit and "
            "maxAddressPairs, or use containerAccess: port-security-off"
        )
    access = AccessSettings(
        ssh_ingress=read.networks("sshIngress"),
        lxd_api_ingress=read.networks("lxdApiIngress"),
        lxd_api_port=host_options.lxd_api_port,
        container_access=container_access,
        max_address_pairs=max_address_pairs,
    )

    request = AddressRequest(
        cidr=read.string("cidr").strip(),
        host_names=names,
        slots_per_host=slots_per_host,
        dhcp_pool_size=read.integer("dhcpPoolSize", 1),
        gateway_ip=read.optional_string("gateway"),
        dhcp_pool_start=read.optional_string("dhcpPoolStart"),
        dhcp_pool_end=read.optional_string("dhcpPoolEnd"),
    )
    address_plan: AddressPlan | None = None
    try:
        address_plan = plan_addresses(request)
    except AddressPlanError as error:
        read.problems.extend(error.problems)
    if address_plan is not None:
        _check_nameservers_outside_reserved_range(dns_nameservers, address_plan, read.problems)
    lxd = _lxd_settings(read, raw, access, address_plan)

    if read.problems or address_plan is None:
        raise ConfigError(_unique(read.problems))

    return Settings(
        network=NetworkSettings(
            mode=mode,
            adopt_stage=adopt_stage,
            external_network=external_network,
            subnet_id=subnet_id,
            dns_nameservers=dns_nameservers,
            mtu=host_options.mtu,
        ),
        hosts=HostSettings(
            image_name=image_name,
            flavor_name=flavor_name,
            key_pair=key_pair,
            public_key=public_key,
            boot_volume_size=boot_volume_size or None,
            image_updates=image_updates,
            ssh_user=ssh_user or _DEFAULT_SSH_USER[host_options.distro],
            floating_ips=floating_ips,
            server_status_read=server_status_read,
            # LXD listens on the network only when its API port is opened to someone.
            spec_template=dataclasses.replace(
                host_options,
                lxd_api_address=LXD_LISTEN_ADDRESS if access.lxd_api_ingress else None,
            ),
        ),
        access=access,
        address_plan=address_plan,
        lxd=lxd,
    )


def _lxd_settings(
    read: _Reader,
    raw: Mapping[str, object],
    access: AccessSettings,
    address_plan: AddressPlan | None,
) -> LxdSettings:
    management = read.choice("lxdManagement", LxdManagement)
    declared = raw.get(f"{PROJECT}:containers")
    if management is LxdManagement.API and not access.lxd_api_ingress:
        read.problems.append(
            "lxdManagement: api reaches each host's LXD API from where pulumi runs: list that "
            "address in lxdApiIngress (or keep lxdManagement: user-data)"
        )
    if management is LxdManagement.USER_DATA:
        if declared not in (None, "", "[]", [], ()):
            read.problems.append(
                "containers: declared containers need lxdManagement: api (LXD's API makes them)"
            )
        return LxdSettings(management)
    if address_plan is None:
        return LxdSettings(management)
    containers, problems = parse_containers(declared, address_plan)
    read.problems.extend(problems)
    return LxdSettings(management, containers)


def _host_options(read: _Reader) -> HostSpec:
    """The stack's host options, as a HostSpec checked by its own rules; a problem it finds is
    named by the option's stack key (`packages[1]: ...`)."""
    values: dict[str, Any] = {}
    for option, key in zip(STACK_HOST_OPTIONS, HOST_OPTION_KEYS, strict=True):
        value = read.value(key.name)
        values[option.name] = None if option.optional and value == _UNSET[key.type] else value
    host_options = HostSpec(**values)
    read.problems.extend(
        f"{stack_key_path(problem)}: {problem.message}" for problem in host_options.problems()
    )
    return host_options


def stack_key_path(problem: Problem) -> str:
    """Where a HostSpec problem is on the stack: `lxd_api_port` -> `lxdApiPort`,
    `packages[1]` -> `packages[1]`; a field that is no stack option keeps its name."""
    field = problem.field()
    return STACK_KEYS_BY_FIELD.get(field, field) + problem.path[len(field) :]


def _check_unknown_keys(raw: Mapping[str, object], problems: list[str]) -> None:
    for qualified in sorted(raw):
        namespace, _, name = qualified.partition(":")
        if namespace != PROJECT or name in CONFIG_KEYS_BY_NAME:
            continue
        close = difflib.get_close_matches(name, list(CONFIG_KEYS_BY_NAME), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        problems.append(f"{name}: unknown key{hint}")


def _dns_nameservers(read: _Reader) -> tuple[IPv4Address, ...]:
    servers = []
    for index, text in enumerate(read.strings("dnsServers")):
        try:
            address = ip_address(text)
        except ValueError:
            read.problems.append(f"dnsServers[{index}]: {text!r} is not an IP address")
            continue
        if not isinstance(address, IPv4Address):
            read.problems.append(f"dnsServers[{index}]: {text} is IPv6; the subnet is IPv4")
            continue
        servers.append(address)
    return tuple(servers)


def _check_nameservers_outside_reserved_range(
    servers: Sequence[IPv4Address], address_plan: AddressPlan, problems: list[str]
) -> None:
    # A nameserver inside the reserved range would be a container slot's address.
    for index, server in enumerate(servers):
        if server in address_plan.reserved_range:
            problems.append(
                f"dnsServers[{index}]: {server} lies in the reserved container range "
                f"{address_plan.reserved_range}"
            )


def _host_names(read: _Reader) -> tuple[str, ...]:
    count = read.integer("hostCount", 1, 250)
    names = read.strings("hostNames")
    if not names:
        return tuple(f"lxd-{n}" for n in range(1, max(count, 1) + 1))
    if count not in (1, len(names)):
        read.problems.append(
            f"hostCount: {count} disagrees with the {len(names)} hostNames; leave hostCount "
            "unset when hostNames is set"
        )
    seen: set[str] = set()
    for index, name in enumerate(names):
        if not _HOST_NAME.match(name):
            read.problems.append(
                f"hostNames[{index}]: {name!r} is not a host name (lowercase letters, digits "
                "and '-', at most 63, not starting or ending with '-')"
            )
        if name in seen:
            read.problems.append(f"hostNames[{index}]: {name!r} is listed twice")
        seen.add(name)
    return names


def _unqualified(key: str) -> str:
    namespace, _, name = key.partition(":")
    return name if namespace == PROJECT else key


def _unique(problems: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(problems))


def stack_config_from_runtime() -> dict[str, object]:
    """The configuration the Pulumi CLI gave this program, fully qualified keys to strings."""
    values: dict[str, object] = dict(runtime_config.get_config_env())
    values.update(runtime_config.CONFIG.get())
    return values


SettingsCheck = Callable[[Settings], Sequence[str]]


def load_settings_or_exit(*checks: SettingsCheck) -> Settings:
    """`load_settings` for `__main__.py`: a bad stack ends the program with its one message."""
    try:
        return load_settings(*checks)
    except pulumi.RunError as error:
        pulumi.log.error(str(error))
        raise SystemExit(ERROR_REPORTED_EXIT_CODE) from None


def load_settings(*checks: SettingsCheck) -> Settings:
    """The running stack's settings; a `pulumi.RunError` naming every bad key otherwise.

    `checks` judge the parsed settings further (the hosts' user_data, which another module
    renders); their problems join the same single error, still before any resource exists.
    """
    try:
        settings = parse_settings(stack_config_from_runtime())
        problems = [problem for check in checks for problem in check(settings)]
        if problems:
            raise ConfigError(problems)
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None
    return settings
