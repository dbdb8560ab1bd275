"""The resource type tokens the program declares: the components' own and the provider's.

The engine, the offline plan and diff, the policy pack and the tests name resources by these.
"""

import importlib.metadata

# The components (package:index:Name).
LXD_HOST = "lxdhost:index:LxdHost"
TENANT_NETWORK = "lxdhost:index:TenantNetwork"
HOST_SECURITY_GROUP = "lxdhost:index:HostSecurityGroup"

# The dynamic resources (lxdhost.lxdresources): pulumi-python:dynamic/<module>:<name>.
CERTIFICATE = "pulumi-python:dynamic/tls:Certificate"
LXD_PROFILE = "pulumi-python:dynamic/lxd:Profile"
LXD_CONTAINER = "pulumi-python:dynamic/lxd:Container"

# pulumi-openstack's resources.
NETWORK = "openstack:networking/network:Network"
SUBNET = "openstack:networking/subnet:Subnet"
ROUTER = "openstack:networking/router:Router"
ROUTER_INTERFACE = "openstack:networking/routerInterface:RouterInterface"
SEC_GROUP = "openstack:networking/secGroup:SecGroup"
SEC_GROUP_RULE = "openstack:networking/secGroupRule:SecGroupRule"
KEYPAIR = "openstack:compute/keypair:Keypair"
PORT = "openstack:networking/port:Port"
INSTANCE = "openstack:compute/instance:Instance"
FLOATING_IP = "openstack:networking/floatingIp:FloatingIp"

# pulumi-openstack's functions (data sources) the program calls while it runs, and the provider
# version its calls ask for: the one the resources are registered with.
GET_INSTANCE = "openstack:compute/getInstanceV2:getInstanceV2"
GET_NETWORK = "openstack:networking/getNetwork:getNetwork"
GET_SUBNET = "openstack:networking/getSubnet:getSubnet"
GET_IMAGE = "openstack:images/getImage:getImage"
PROVIDER_VERSION = importlib.metadata.version("pulumi_openstack")
