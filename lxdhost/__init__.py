"""LXD hosts and their bridged containers on an OpenStack tenant network, as Pulumi components.

`__main__.py` (the Pulumi program) reads the stack's settings with `config.load_settings`, plans
the subnet's addresses (`addressing`), and declares a `TenantNetwork`, a `HostSecurityGroup` and
one `LxdHost` per host. `offline` runs that program under Neutron/Nova-like mocks.
"""

from lxdhost.host import LxdHost, LxdHostArgs
from lxdhost.network import TenantNetwork, TenantNetworkArgs
from lxdhost.security import HostSecurityGroup, HostSecurityGroupArgs

__all__ = [
    "HostSecurityGroup",
    "HostSecurityGroupArgs",
    "LxdHost",
    "LxdHostArgs",
    "TenantNetwork",
    "TenantNetworkArgs",
]
