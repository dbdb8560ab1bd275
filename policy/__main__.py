"""The policy pack: policy/rules.py wired to Pulumi's policy SDK.

`pulumi preview --policy-pack policy` and `pulumi up --policy-pack policy` run this file. A
mandatory violation stops the preview or update; an advisory one is printed.

During a preview, inputs that depend on resources not created yet reach the rules as
`rules.UNKNOWN` (pulumi-policy's own proxy would stop a rule at the first such input it touches,
needed or not). A rule judges what is known; one that needs an unknown input is reported once, as
an advisory note that says `pulumi up` will judge it.

Pulumi hands the pack the configuration of the stack being judged (Pulumi.yaml's defaults and
the stack file's values), so the settings the program validates against, lxdhost:maxAddressPairs
and lxdhost:lxdApiPort, are read from there rather than configured twice.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

# Pulumi runs this file with its own folder on sys.path. The rules are imported as the `policy`
# package, as the tests and mypy see them, so the repository root goes on the path too.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from lxdhost import tokens
from policy import rules

PACK_NAME = "lxdhost"

Validate = Callable[[ResourceValidationArgs, ReportViolation], None]


def _stack_setting(key: str, default: int) -> int:
    """An integer lxdhost: key of the stack being judged; `default` is Pulumi.yaml's."""
    value = pulumi.Config("lxdhost").get_int(key)
    return default if value is None else value


class _JudgedAtUpError(UnknownValueError):
    """What pulumi-policy reports as an advisory note during a preview, in the pack's words."""

    def __init__(self, path: str) -> None:
        super().__init__(UNKNOWN_STRING_VALUE, [path])
        self.message = (
            f"{path} is known only once the resources it depends on exist; "
            "`pulumi up` judges it before the resource is created"
        )


def known_inputs(props: Any) -> Any:
    """The resource's inputs as plain values, `rules.UNKNOWN` where the engine does not know
    them yet. Reading pulumi-policy's proxy raises on an unknown value; iterating it does not."""
    if isinstance(props, Mapping):
        return {key: _known_item(props, key) for key in props}
    if isinstance(props, Sequence) and not isinstance(props, str):
        return [_known_item(props, index) for index in range(len(props))]
    return props


def _known_item(container: Any, key: Any) -> Any:
    try:
        return known_inputs(container[key])
    except UnknownValueError:
        return rules.UNKNOWN


def _judge(
    rule: Callable[[Mapping[str, Any]], list[str]],
    args: ResourceValidationArgs,
    report_violation: ReportViolation,
) -> None:
    try:
        messages = rule(known_inputs(args.props))
    except rules.UnknownInputError as unknown:
        raise _JudgedAtUpError(unknown.path) from None
    for message in messages:
        report_violation(message, None)


def _world_open_admin_ingress(production: bool) -> Validate:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type != tokens.SEC_GROUP_RULE:
            return
        if rules.is_production(rules.stack_of(args.urn)) != production:
            return
        lxd_api_port = _stack_setting("lxdApiPort", rules.LXD_API_PORT)
        ports = rules.admin_ports(lxd_api_port)
        _judge(lambda rule: rules.world_open_admin_ingress(rule, ports), args, report_violation)

    return validate


def _user_data_within_nova_limit(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type == tokens.LXD_HOST:
        _judge(rules.user_data_bound_within_nova_limit, args, report_violation)
    elif args.resource_type == tokens.INSTANCE:
        bounded = rules.is_lxd_host_server(args.resource_type, args.urn)
        _judge(
            lambda server: rules.user_data_within_nova_limit(server, bounded=bounded),
            args,
            report_violation,
        )


def _address_pairs_acceptable(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type == tokens.PORT:
        limit = _stack_setting("maxAddressPairs", rules.NEUTRON_MAX_ADDRESS_PAIRS)
        _judge(lambda port: rules.address_pairs_acceptable(port, limit), args, report_violation)


def _lxd_host_port_lets_containers_through(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if rules.is_lxd_host_port(args.resource_type, args.urn):
        _judge(rules.lxd_host_port_lets_containers_through, args, report_violation)


def _server_on_port_has_no_security_groups(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type == tokens.INSTANCE:
        _judge(rules.server_on_port_has_no_security_groups, args, report_violation)


def policies() -> list[Policy]:
    """Every policy of the pack, with its enforcement level."""
    return [
        ResourceValidationPolicy(
            name="no-world-admin-ingress-in-production",
            description=(
                "In stacks named prod*, no security group rule opens SSH or LXD's API to "
                "0.0.0.0/0 or ::/0."
            ),
            validate=_world_open_admin_ingress(production=True),
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        ResourceValidationPolicy(
            name="no-world-admin-ingress",
            description=(
                "Outside prod* stacks, a security group rule that opens SSH or LXD's API to "
                "0.0.0.0/0 or ::/0 is reported."
            ),
            validate=_world_open_admin_ingress(production=False),
            enforcement_level=EnforcementLevel.ADVISORY,
        ),
        ResourceValidationPolicy(
            name="user-data-within-nova-limit",
            description=(
                f"Every server's user_data, base64-encoded, fits Nova's "
                f"{rules.NOVA_USER_DATA_LIMIT}-byte limit (during a preview, an LXD host's "
                "userDataMaxBytes)."
            ),
            validate=_user_data_within_nova_limit,
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        ResourceValidationPolicy(
            name="address-pairs-need-port-security-and-fit-the-limit",
            description=(
                "Allowed address pairs only on ports with port security on, and no more per "
                "port than Neutron's max_allowed_address_pair."
            ),
            validate=_address_pairs_acceptable,
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        ResourceValidationPolicy(
            name="lxd-host-port-lets-containers-through",
            description=(
                "Every port of an LXD host has allowed address pairs (with MACs) or port security "
                "off; otherwise Neutron drops the containers' traffic."
            ),
            validate=_lxd_host_port_lets_containers_through,
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        ResourceValidationPolicy(
            name="server-on-port-has-no-security-groups",
            description=(
                "A server booted on a pre-created port has no security groups of its own: they "
                "belong on the port."
            ),
            validate=_server_on_port_has_no_security_groups,
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
    ]


if __name__ == "__main__":
    # Serves the pack to the Pulumi engine until it is stopped.
    PolicyPack(name=PACK_NAME, policies=policies())
