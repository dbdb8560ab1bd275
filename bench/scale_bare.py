"""The bare program of bench/scale.py: the program's OpenStack resources, and nothing else.

bench/scale.py copies this file as `__main__.py` into a Pulumi project of its own (runtime
python, the checkout's venv) beside `resources.json`, which it writes from the program's offline
plan for the stack and size it measures. This program imports no lxdhost code: it declares each
resource listed there through its `pulumi_openstack` class (a component as a plain
`pulumi.ComponentResource` of the same type), with the plan's literal arguments, parent and
options, and wires the values only the cloud knows from the resources that make them:

- `{"$ref": URN, "output": "id"}`: that output of the resource declared under URN (a network's
  id for a subnet and a port, a subnet's for a port's fixed IP and the router interface, a
  security group's for its rules and the ports, a port's for its server);
- `{"$invoke": KEY, "output": "id"}`: that output of a data source the plan called (the
  external network the router's gateway sits on);
- `{"$user_data": {...}}`: a server's user_data, the plan's text with the port's MAC and the
  network's MTU put back where the program writes them (the bench checked offline that this
  gives the program's bytes, for the MTUs listed under `verified_mtus`).

It exports nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
import pulumi_openstack

SPEC = Path(__file__).with_name("resources.json")


def declare(spec: Mapping[str, Any]) -> None:
    declared: dict[str, pulumi.Resource] = {}
    invoked = {
        key: getattr(getattr(pulumi_openstack, call["module"]), call["function"])(**call["args"])
        for key, call in spec["invokes"].items()
    }
    placeholders = spec["placeholders"]
    verified_mtus = set(spec["verified_mtus"])

    def user_data(template: Mapping[str, str]) -> pulumi.Output[str]:
        # Any: the declared classes are only known from the file at run time.
        port: Any = declared[template["port"]]
        network: Any = declared[template["network"]]

        def fill(values: list[Any]) -> str:
            mac, mtu = values
            if mtu is None or int(mtu) not in verified_mtus:
                raise ValueError(
                    f"the network's MTU is {mtu}: the user_data template was checked for "
                    f"{sorted(verified_mtus)} only (bench/scale.py, VERIFIED_MTUS)"
                )
            text = template["text"].replace(placeholders["mac"], str(mac))
            return text.replace(placeholders["mtu"], str(int(mtu)))

        return pulumi.Output.all(port.mac_address, network.mtu).apply(fill)

    def resolve(value: Any) -> Any:
        if isinstance(value, list):
            return [resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if "$ref" in value:
            return getattr(declared[value["$ref"]], value["output"])
        if "$invoke" in value:
            return getattr(invoked[value["$invoke"]], value["output"])
        if "$user_data" in value:
            return user_data(value["$user_data"])
        return {key: resolve(item) for key, item in value.items()}

    for entry in spec["resources"]:
        opts = pulumi.ResourceOptions(
            parent=declared[entry["parent"]] if entry["parent"] else None,
            depends_on=[declared[urn] for urn in entry["depends_on"]],
            **entry["options"],
        )
        resource: pulumi.Resource
        if entry["custom"]:
            cls = getattr(getattr(pulumi_openstack, entry["module"]), entry["class"])
            resource = cls(entry["name"], opts=opts, **resolve(entry["args"]))
        else:
            resource = pulumi.ComponentResource(entry["type"], entry["name"], entry["props"], opts)
        declared[entry["urn"]] = resource


declare(json.loads(SPEC.read_text()))
