"""Typed, deterministic cloud-init user-data for LXD hosts whose containers bridge onto the network.

The Pulumi program calls `render_host(HostSpec(...))`; people booting by hand run
`python -m userdata render HOST.yaml`. See docs/userdata.md.
"""

from userdata.cloudconfig import (
    NOVA_USER_DATA_LIMIT,
    CloudConfig,
    Lxd,
    LxdBridge,
    LxdInit,
    PowerState,
    WriteFile,
    check_size,
    encoded_size,
    render_cloud_config,
)
from userdata.host import HostSpec, build_cloud_config, render_host
from userdata.lxd import LxdProfile, container_slot_profile
from userdata.network import HostBridge
from userdata.validation import UserDataError

__all__ = [
    "NOVA_USER_DATA_LIMIT",
    "CloudConfig",
    "HostBridge",
    "HostSpec",
    "Lxd",
    "LxdBridge",
    "LxdInit",
    "LxdProfile",
    "PowerState",
    "UserDataError",
    "WriteFile",
    "build_cloud_config",
    "check_size",
    "container_slot_profile",
    "encoded_size",
    "render_cloud_config",
    "render_host",
]
