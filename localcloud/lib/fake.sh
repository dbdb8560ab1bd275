# shellcheck shell=bash
# The scale mode (`scripts/local-cloud up --scale`): a second compute host, $LC_FAKE_HOST, on
# Nova's FakeDriver, beside the libvirt one. Its servers go ACTIVE with no guest, so a stack of
# tens of hosts fits on one machine, while Neutron still binds their ports and applies their
# rules. Four parts make the host:
#
# - nova-compute-fake: nova-compute with fake.FakeDriver and `host = $LC_FAKE_HOST`, in the
#   cloud's namespace. Its resource provider carries the trait $LC_FAKE_TRAIT (its own
#   provider.yaml): flavor $LC_FAKE_FLAVOR requires the trait and $LC_FLAVOR forbids it
#   (localcloud/bootstrap.py), so each kind of server lands on its own host.
# - neutron-linuxbridge-agent-fake: the host's linuxbridge agent, which binds its ports. It runs
#   in a namespace of its own, $LC_FAKE_NS: in the cloud's, both agents would wrap their iptables
#   chains under the same name (neutron-linuxbri) and each would drop the other's rules. It
#   reaches RabbitMQ through a relay (a Unix socket in $LC_RUN).
# - fake-vif-plug (localcloud/fakeplug.py): FakeDriver plugs nothing, and the agent acts only on
#   devices that exist; the plugger makes a tap in $LC_FAKE_NS for each port bound to the host,
#   as libvirt makes one for a guest, and removes it once the port is unbound.
# - the project's quotas, raised to fit a stack of 100 hosts (bootstrap.py scale).

LC_FAKE_SCALE_MARK=$LC_RUN/scale  # present while the scale mode runs: status and down read it
FAKE_SERVICES=(amqp-relay amqp-relay-fake nova-compute-fake neutron-linuxbridge-agent-fake fake-vif-plug)

fake_nsx() { ip netns exec "$LC_FAKE_NS" "$@"; }

configure_fake() {
  # Read after nova.conf, so its [DEFAULT] host wins; not nova-compute.conf (libvirt's driver).
  write_config /etc/nova/nova-compute-fake.conf <<CONF
[DEFAULT]
host = $LC_FAKE_HOST
compute_driver = fake.FakeDriver
instances_path = /var/lib/nova/instances-fake
# FakeDriver's spawn waits for no network-vif-plugged event, and neither may anything else here.
vif_plugging_timeout = 0
vif_plugging_is_fatal = false
# Its servers live in the process's memory: after a restart it knows none of them.
sync_power_state_interval = -1
[compute]
# Its own directory: the libvirt host reads the default one.
provider_config_location = /etc/nova/provider_config_fake/
[oslo_concurrency]
lock_path = /var/lib/nova/tmp-fake
CONF
  install -d -m 755 /etc/nova/provider_config_fake
  write_config /etc/nova/provider_config_fake/lxdhost-fake.yaml <<CONF
meta:
  schema_version: "1.0"
providers:
  - identification:
      uuid: \$COMPUTE_NODE
    traits:
      additional:
        - $LC_FAKE_TRAIT
CONF
  write_config /etc/neutron/plugins/ml2/linuxbridge_agent_fake.ini <<CONF
[DEFAULT]
host = $LC_FAKE_HOST
[linux_bridge]
physical_interface_mappings =
[vxlan]
enable_vxlan = true
local_ip = $LC_FAKE_VXLAN_IP
l2_population = false
[securitygroup]
enable_security_group = true
firewall_driver = iptables
[oslo_concurrency]
# Not the real agent's lock: each would wait for the other's iptables applies.
lock_path = /var/lib/neutron/lock-fake
CONF
}

# The fake agent's namespace: loopback, a VXLAN endpoint address, and RabbitMQ on its 127.0.0.1
# through a relay pair (as the APIs reach the machine: infra.sh's start_api_relays).
start_fake_namespace() {
  ip netns list 2>/dev/null | grep -qw "$LC_FAKE_NS" || ip netns add "$LC_FAKE_NS"
  fake_nsx ip link set lo up
  add_vxlan_endpoint "$LC_FAKE_NS" "$LC_FAKE_VXLAN_DEVICE" "$LC_FAKE_VXLAN_IP"
  local socket=$LC_RUN/amqp.sock
  run_process amqp-relay root /usr/bin/socat "UNIX-LISTEN:$socket,fork,unlink-early,mode=600" \
    "TCP:$LC_HOST:$LC_RABBITMQ_PORT"
  run_process_in "$LC_FAKE_NS" amqp-relay-fake root /usr/bin/socat \
    "TCP-LISTEN:$LC_RABBITMQ_PORT,bind=$LC_HOST,fork,reuseaddr" "UNIX-CONNECT:$socket"
  wait_for amqp-relay-fake 30 health_amqp_relay_fake
}
health_amqp_relay() { [ -S "$LC_RUN/amqp.sock" ]; }
health_amqp_relay_fake() { fake_nsx bash -c "exec 3<>/dev/tcp/$LC_HOST/$LC_RABBITMQ_PORT"; }

start_fake_compute() {
  install -d -o nova -g nova /var/lib/nova/instances-fake /var/lib/nova/tmp-fake
  install -d -o neutron -g neutron /var/lib/neutron/lock-fake
  run_process nova-compute-fake nova /usr/bin/nova-compute --config-file /etc/nova/nova.conf \
    --config-file /etc/nova/nova-compute-fake.conf
  run_process_in "$LC_FAKE_NS" neutron-linuxbridge-agent-fake neutron \
    /usr/bin/neutron-linuxbridge-agent "${NEUTRON_ML2[@]}" \
    --config-file /etc/neutron/plugins/ml2/linuxbridge_agent_fake.ini
  run_process fake-vif-plug root env OS_CLIENT_CONFIG_FILE="$LC_STATE/clouds.yaml" \
    LC_CLOUD_ADMIN="$LC_CLOUD_ADMIN" LC_FAKE_HOST="$LC_FAKE_HOST" LC_FAKE_NS="$LC_FAKE_NS" \
    LC_RUN="$LC_RUN" /usr/bin/python3 -u "$TOP/localcloud/fakeplug.py"
  wait_for neutron-linuxbridge-agent-fake 180 health_neutron_linuxbridge_agent_fake
  wait_for fake-vif-plug 60 health_fake_vif_plug
  wait_for nova-compute-fake 180 health_nova_compute_fake
}

# The fake host joins cell1 only once placement shows its trait: until then, flavor $LC_FLAVOR's
# forbidden trait could not keep a real server off it.
register_fake_compute() {
  setup_step scale bootstrap scale
  sed 's/^/  /' "$LC_LOGS/setup-scale.log"
  as_user nova nova-manage cell_v2 discover_hosts >>"$LC_LOGS/setup-nova.log" 2>&1 ||
    die_service nova-compute-fake "nova-manage cell_v2 discover_hosts failed (log $LC_LOGS/setup-nova.log)"
  touch "$LC_FAKE_SCALE_MARK"
}

health_nova_compute_fake() { nova_service_up compute "$LC_FAKE_HOST"; }
health_neutron_linuxbridge_agent_fake() { neutron_agent_alive linux-bridge "$LC_FAKE_HOST"; }
# The plugger writes its beat file after each pass (every 2 s).
health_fake_vif_plug() {
  [ -n "$(find "$LC_RUN/fake-vif-plug.beat" -newermt '30 seconds ago' 2>/dev/null)" ]
}

stop_fake() {
  stop_services "${FAKE_SERVICES[@]}"
  rm -f "$LC_FAKE_SCALE_MARK" "$LC_RUN/amqp.sock" "$LC_RUN/fake-vif-plug.beat"
}

# After stop_fake: the taps, bridges and rules of the fake agent go with its namespace.
remove_fake_namespace() {
  ip netns list 2>/dev/null | grep -qw "$LC_FAKE_NS" || return 0
  ip netns delete "$LC_FAKE_NS" 2>/dev/null || rm -f "/run/netns/$LC_FAKE_NS"
}
