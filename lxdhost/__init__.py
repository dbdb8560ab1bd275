"""LXD hosts and their bridged containers on an OpenStack tenant network, as Pulumi components.

`__main__.py` (the Pulumi program) loads the stack's settings with `config.load_settings` and
declares the stack with `stack.declare_stack`: a `TenantNetwork`, a `HostSecurityGroup` and one
`LxdHost` per host, each from its Args alone. `offline` runs that program under
Neutron/Nova-like mocks.
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
