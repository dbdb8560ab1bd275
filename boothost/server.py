"""The server under test, taken from the program: host 0's user_data and its Neutron port.

The boot test must boot exactly what the program would hand Nova, on a port exactly as the
program declares it to Neutron. So it runs the real Pulumi program under the offline engine's
Neutron-like mocks and reads host 0's `Instance.userData`, its port's MAC, fixed address and
`allowedAddressPairs`, and the subnet's CIDR, gateway and allocation pool from the records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lxdhost.offline import ProgramRun, RecordedResource

from .tenant import AllowedAddressPair, Port, Subnet

INSTANCE = "openstack:compute/instance:Instance"
PORT = "openstack:networking/port:Port"
SUBNET = "openstack:networking/subnet:Subnet"
NETWORK = "openstack:networking/network:Network"


@dataclass(frozen=True)
class ServerUnderTest:
    """What the boot needs: the user_data under test, the port and the subnet around it."""

    name: str
    user_data: str
    port: Port
    subnet: Subnet
    mtu: int  # the network's MTU, as Neutron reports it (and its DHCP agent advertises)


def _one(records: Sequence[RecordedResource], what: str) -> RecordedResource:
    if len(records) != 1:
        names = ", ".join(r.name for r in records) or "none"
        raise LookupError(f"expected one {what}, the program registered: {names}")
    return records[0]


def _pairs(inputs: Mapping[str, Any]) -> tuple[AllowedAddressPair, ...]:
    return tuple(
        AllowedAddressPair(ip_address=str(p["ipAddress"]), mac_address=str(p["macAddress"]))
        for p in inputs.get("allowedAddressPairs") or []
    )


def first_server(run: ProgramRun) -> ServerUnderTest:
    """Host 0: the first instance the program declares, with the port it boots on."""
    instances = run.of_type(INSTANCE)
    if not instances:
        raise LookupError("the program registered no openstack Instance")
    instance = instances[0]
    ports = {r.id: r for r in run.of_type(PORT)}
    networks = instance.inputs.get("networks") or []
    port_id = str(networks[0].get("port", "")) if networks else ""
    port = ports.get(port_id)
    if port is None:
        port = _one(
            [r for r in run.of_type(PORT) if r.parent == instance.parent], "port beside the server"
        )
    subnet = _one(run.of_type(SUBNET), "subnet")
    pool = (subnet.outputs.get("allocationPools") or [{}])[0]
    fixed_ips = port.outputs.get("fixedIps") or [{}]
    network = _one(run.of_type(NETWORK), "network")
    return ServerUnderTest(
        name=instance.name,
        user_data=str(instance.inputs["userData"]),
        port=Port(
            name=port.name,
            mac_address=str(port.outputs["macAddress"]),
            fixed_ip=str(fixed_ips[0]["ipAddress"]),
            allowed_address_pairs=_pairs(port.inputs),
        ),
        subnet=Subnet(
            cidr=str(subnet.outputs["cidr"]),
            gateway_ip=str(subnet.outputs["gatewayIp"]),
            allocation_pool_start=str(pool["start"]),
            allocation_pool_end=str(pool["end"]),
        ),
        mtu=int(network.outputs["mtu"]),
    )
