"""The LXD host images the boot test boots in qemu and the local cloud serves from Glance."""

from .build import (
    NOCLOUD,
    BuildError,
    ContainerImage,
    HostImage,
    Target,
    build_container_image,
    build_host_image,
    openstack_target,
)

__all__ = [
    "NOCLOUD",
    "BuildError",
    "ContainerImage",
    "HostImage",
    "Target",
    "build_container_image",
    "build_host_image",
    "openstack_target",
]
