# shellcheck shell=bash
# Neutron: the server with ML2 (flat external network, VXLAN tenant networks, the port_security
# extension) and the linuxbridge agent, whose iptables and ebtables rules enforce port security
# and allowed address pairs; the DHCP, L3 and metadata agents.

LC_NEUTRON_PORT=9696
LC_NEUTRON_URL=http://$LC_HOST:$LC_NEUTRON_PORT
NEUTRON_AGENTS=(neutron-linuxbridge-agent neutron-dhcp-agent neutron-l3-agent neutron-metadata-agent)

NEUTRON_ML2=(--config-file /etc/neutron/neutron.conf --config-file /etc/neutron/plugins/ml2/ml2_conf.ini)

configure_neutron() {
  write_config /etc/neutron/neutron.conf <<CONF
[DEFAULT]
# nova-compute's host name: port binding looks for an agent on the instance's host
host = $LC_COMPUTE_HOST
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = $(transport_url)
bind_host = $LC_HOST
bind_port = $LC_NEUTRON_PORT
api_workers = 1
rpc_workers = 1
rpc_state_report_workers = 1
allow_overlapping_ips = true
notify_nova_on_port_status_changes = true
notify_nova_on_port_data_changes = true
dhcp_agents_per_network = 1
# max_allowed_address_pair keeps Neutron's default, 10: the program's maxAddressPairs default
[experimental]
# Zed marks linuxbridge experimental: without this the server and the agent refuse to start
linuxbridge = true
[agent]
root_helper = sudo neutron-rootwrap /etc/neutron/rootwrap.conf
[database]
connection = $(database_url neutron neutron)
$(keystone_authtoken neutron)
$(service_credentials nova nova)
[oslo_concurrency]
lock_path = /var/lib/neutron/lock
[oslo_policy]
policy_dirs = /etc/neutron/policy.d
CONF
  write_config /etc/neutron/plugins/ml2/ml2_conf.ini <<CONF
[ml2]
type_drivers = flat,vxlan
tenant_network_types = vxlan
mechanism_drivers = linuxbridge
extension_drivers = port_security
[ml2_type_flat]
flat_networks = external
[ml2_type_vxlan]
vni_ranges = 1:1000
[securitygroup]
enable_ipset = true
CONF
  write_config /etc/neutron/plugins/ml2/linuxbridge_agent.ini <<CONF
[linux_bridge]
physical_interface_mappings = external:$LC_EXT_DEVICE
[vxlan]
enable_vxlan = true
local_ip = $LC_VXLAN_IP
l2_population = false
[securitygroup]
enable_security_group = true
firewall_driver = iptables
CONF
  # The DHCP agent (user neutron) makes a folder per network in it.
  install -d -m 755 -o neutron -g neutron "$LC_LOGS/dnsmasq"
  write_config /etc/neutron/dhcp_agent.ini <<CONF
[DEFAULT]
interface_driver = linuxbridge
dhcp_driver = neutron.agent.linux.dhcp.Dnsmasq
enable_isolated_metadata = true
# dnsmasq's DHCP log per network: what it offered to which MAC (the smoke test reads it)
dnsmasq_base_log_dir = $LC_LOGS/dnsmasq
CONF
  write_config /etc/neutron/l3_agent.ini <<CONF
[DEFAULT]
interface_driver = linuxbridge
CONF
  write_config /etc/neutron/metadata_agent.ini <<CONF
[DEFAULT]
nova_metadata_host = $LC_HOST
nova_metadata_port = $LC_NOVA_METADATA_PORT
metadata_proxy_shared_secret = $(password)
CONF
  patch_neutron_mac_rules
}

_init_neutron() { as_user neutron neutron-db-manage "${NEUTRON_ML2[@]}" upgrade head; }
init_neutron() { once_per_version neutron neutron-server _init_neutron; }

start_neutron_server() {
  run_process neutron-server neutron /usr/bin/neutron-server "${NEUTRON_ML2[@]}"
}
wait_neutron_server() { wait_for neutron-server 120 health_neutron_server; }

start_neutron_agents() {
  local agent
  run_process neutron-linuxbridge-agent neutron /usr/bin/neutron-linuxbridge-agent "${NEUTRON_ML2[@]}" \
    --config-file /etc/neutron/plugins/ml2/linuxbridge_agent.ini
  for agent in dhcp l3 metadata; do
    run_process "neutron-$agent-agent" neutron "/usr/bin/neutron-$agent-agent" \
      --config-file /etc/neutron/neutron.conf --config-file "/etc/neutron/${agent}_agent.ini"
  done
}

agents_alive() {
  [ "$(os_admin network agent list --host "$LC_COMPUTE_HOST" -f value -c Alive | grep -c True)" -ge 4 ]
}
wait_neutron_agents() { wait_for neutron-linuxbridge-agent 180 agents_alive; }

# What the agents start on their own, found through Neutron's own PID files: dnsmasq per
# network, haproxy per router and per isolated network's metadata.
neutron_children() {
  cat /var/lib/neutron/dhcp/*/pid /var/lib/neutron/external/pids/*.pid* 2>/dev/null
}

# The privsep helpers of our Neutron agents and nova-compute: started through rootwrap, they are
# nobody's recorded child; their command lines name our configuration files.
privsep_helpers() {
  ps -eo pid=,args= |
    awk '$0 ~ /privsep-helper/ && $0 ~ /--config-file \/etc\/(neutron|nova)\// { print $1 }'
}

health_neutron_server() { http_answers "$LC_NEUTRON_URL/"; }
# neutron_agent_alive TYPE [HOST]: the agent of that type (as `openstack network agent list`
# names it) is alive, on HOST (by default the libvirt host's, which all of them share).
neutron_agent_alive() {
  os_admin network agent list --agent-type "$1" --host "${2:-$LC_COMPUTE_HOST}" -f value -c Alive |
    grep -qx True
}
health_neutron_linuxbridge_agent() { neutron_agent_alive linux-bridge; }
health_neutron_dhcp_agent() { neutron_agent_alive dhcp; }
health_neutron_l3_agent() { neutron_agent_alive l3; }
health_neutron_metadata_agent() { neutron_agent_alive metadata; }

stop_neutron() { stop_services neutron-server "${NEUTRON_AGENTS[@]}"; }

# Processes the agents started and left to PID 1: dnsmasq and haproxy (by Neutron's PID files),
# and the privsep helpers of our Neutron agents and nova-compute (their command lines name our
# configuration files). After stop_neutron and stop_nova: their processes start these.
stop_neutron_children() {
  local pid
  for pid in $(neutron_children); do
    # A stale PID file (after a crash) may name another process by now.
    grep -qaE '(dnsmasq|haproxy)' "/proc/$pid/cmdline" 2>/dev/null || continue
    stop_pid "agent child" "$pid"
  done
  rm -f /var/lib/neutron/dhcp/*/pid /var/lib/neutron/external/pids/*.pid*
  for pid in $(privsep_helpers); do
    stop_pid privsep-helper "$pid"
  done
}

# The agents' own namespaces (qdhcp-<network id>, qrouter-<router id>).
remove_neutron_namespaces() {
  local name
  for name in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E '^(qdhcp|qrouter)-[0-9a-f-]{36}$' || true); do
    ip netns delete "$name" 2>/dev/null || rm -f "/run/netns/$name"
  done
}

# Debian 12's neutron (21.0.0) cannot change a live port's allowed address pairs: its
# linuxbridge agent deletes the port's old MAC rule with `ebtables -D ... --among-src ...`,
# which ebtables-nft refuses ("RULE_DELETE failed (Invalid argument)"), and then aborts the
# port's update on every loop, so the pair's iptables rule never comes. Upstream fixed it
# (Launchpad bug 2038541; neutron 24.0.0, and 21.2.0 for Zed) by flushing the port's MAC chain
# and adding back its final DROP instead. The same change, made to the installed file once;
# a neutron that already has it is left as it is.
ARP_PROTECT=/usr/lib/python3/dist-packages/neutron/plugins/ml2/drivers/linuxbridge/agent/arp_protect.py
patch_neutron_mac_rules() {
  /usr/bin/python3 - "$ARP_PROTECT" <<'PY' || die "could not update $ARP_PROTECT (see above)"
import pathlib, sys

path = pathlib.Path(sys.argv[1])
source = path.read_text()
old = """    for rule in current_rules:
        if '-i %s' % vif in rule and '--among-src' in rule:
            ebtables(['-D', chain] + rule.split())
"""
new = """    # lxdhost local cloud: flush and re-add the final DROP (ebtables-nft cannot -D --among-src)
    if chain_exists(chain, current_rules):
        ebtables(['-F', chain])
        ebtables(['-A', chain, '-j', 'DROP'])
"""
if new in source:
    sys.exit(0)
if source.count(old) != 1:
    sys.exit(f"{path}: _delete_vif_mac_rules is not the one this fix knows")
path.write_text(source.replace(old, new))
for cached in path.parent.glob("__pycache__/arp_protect.*.pyc"):
    cached.unlink()
print(f"updated {path}: a port's MAC rules are flushed, not deleted one by one")
PY
}
