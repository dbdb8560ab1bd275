# shellcheck shell=bash
# The network namespace, and the services every OpenStack service needs: MariaDB, RabbitMQ and
# memcached.

LC_MARIADB_PORT=3306
LC_EPMD_PORT=4369  # epmd's own default, where RabbitMQ looks for it
LC_RABBITMQ_PORT=5672
LC_MEMCACHED_PORT=11211

# Dummy links are missing from some kernels: veth pairs with both ends inside the namespace
# stand in for the VXLAN endpoint and for the external network's "wire".
start_namespace() {
  ip netns list 2>/dev/null | grep -qw "$LC_NS" || ip netns add "$LC_NS"
  nsx ip link set lo up
  add_vxlan_endpoint "$LC_NS" "$LC_VXLAN_DEVICE" "$LC_VXLAN_IP"
  nsx ip link show "$LC_EXT_DEVICE" >/dev/null 2>&1 ||
    nsx ip link add "$LC_EXT_DEVICE" type veth peer name "$LC_EXT_UPLINK"
  nsx ip addr show dev "$LC_EXT_UPLINK" | grep -q "$LC_EXT_UPLINK_IP/" ||
    nsx ip addr add "$LC_EXT_UPLINK_IP/${LC_EXT_CIDR#*/}" dev "$LC_EXT_UPLINK"
  nsx ip link set "$LC_EXT_DEVICE" up
  nsx ip link set "$LC_EXT_UPLINK" up
  start_machine_link
}

# add_vxlan_endpoint NS DEVICE ADDRESS: a linuxbridge agent's VXLAN endpoint in namespace NS,
# ADDRESS/32 on DEVICE, one end of a veth pair whose other end (DEVICEp) is in NS too. Idempotent.
add_vxlan_endpoint() {
  local ns=$1 device=$2 address=$3
  ip -n "$ns" link show "$device" >/dev/null 2>&1 ||
    ip -n "$ns" link add "$device" type veth peer name "${device}p"
  ip -n "$ns" addr show dev "$device" | grep -q "$address/" ||
    ip -n "$ns" addr add "$address/32" dev "$device"
  ip -n "$ns" link set "$device" up
  ip -n "$ns" link set "${device}p" up
}

# The veth pair from the machine into the namespace, the route to the external network's range
# through it, and the namespace routing that traffic out of its uplink as the uplink's address.
start_machine_link() {
  ip link show "$LC_HOST_LINK" >/dev/null 2>&1 ||
    ip link add "$LC_HOST_LINK" type veth peer name "$LC_HOST_LINK_PEER" netns "$LC_NS"
  ip addr show dev "$LC_HOST_LINK" | grep -q "$LC_HOST_LINK_IP/" ||
    ip addr add "$LC_HOST_LINK_IP/$LC_HOST_LINK_PREFIX" dev "$LC_HOST_LINK"
  nsx ip addr show dev "$LC_HOST_LINK_PEER" | grep -q "$LC_HOST_LINK_PEER_IP/" ||
    nsx ip addr add "$LC_HOST_LINK_PEER_IP/$LC_HOST_LINK_PREFIX" dev "$LC_HOST_LINK_PEER"
  ip link set "$LC_HOST_LINK" up
  nsx ip link set "$LC_HOST_LINK_PEER" up
  ip route replace "$LC_EXT_CIDR" via "$LC_HOST_LINK_PEER_IP" dev "$LC_HOST_LINK"
  nsx sysctl -qw net.ipv4.ip_forward=1
  local masquerade=(POSTROUTING -s "$LC_HOST_LINK_IP/32" -o "$LC_EXT_UPLINK" -j MASQUERADE)
  nsx iptables -t nat -C "${masquerade[@]}" 2>/dev/null || nsx iptables -t nat -A "${masquerade[@]}"
}

# Each API on the machine's 127.0.0.1: a relay in the namespace from a Unix socket to the API,
# and one on the machine from the port to that socket.
start_api_relays() {
  local entry port socket
  for entry in "${LC_API_PORTS[@]}"; do
    port=${entry#*:}
    socket=$LC_RUN/api-$port.sock
    run_process "relay-$port" root /usr/bin/socat \
      "UNIX-LISTEN:$socket,fork,unlink-early,mode=600" "TCP:$LC_HOST:$port"
    run_process "loopback-$port" machine /usr/bin/socat \
      "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$socket"
    wait_for "loopback-$port" 30 health_loopback "$port"
  done
}

# health_relay PORT, health_loopback PORT: the API answers through the namespace's relay, and
# through the machine's.
health_relay() { http_answers "http://$LC_HOST:$1/"; }
health_loopback() { curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$1/"; }

stop_api_relays() {
  local entry names=()
  for entry in "${LC_API_PORTS[@]}"; do
    names+=("relay-${entry#*:}" "loopback-${entry#*:}")
  done
  stop_services "${names[@]}"
}

start_mariadb() {
  install -d -o mysql -g mysql /run/mysqld
  run_process mariadb root /usr/sbin/mariadbd --user=mysql --bind-address="$LC_HOST" \
    --port="$LC_MARIADB_PORT" \
    --max-connections=1000 --innodb-flush-log-at-trx-commit=0 --sync-binlog=0 --skip-log-bin
  wait_for mariadb 60 health_mariadb
}
health_mariadb() { mysqladmin ping; }

# One database and one user per service, all with the cloud's password.
init_databases() {
  local pw
  pw=$(password)
  {
    local db user pair
    for db in keystone glance placement nova_api nova nova_cell0 neutron; do
      echo "CREATE DATABASE IF NOT EXISTS $db;"
    done
    for user in keystone glance placement nova neutron; do
      echo "CREATE USER IF NOT EXISTS '$user'@'localhost' IDENTIFIED BY '$pw';"
      echo "ALTER USER '$user'@'localhost' IDENTIFIED BY '$pw';"
    done
    for pair in keystone:keystone glance:glance placement:placement nova:nova_api nova:nova \
      nova:nova_cell0 neutron:neutron; do
      echo "GRANT ALL PRIVILEGES ON ${pair#*:}.* TO '${pair%%:*}'@'localhost';"
    done
  } | mysql || die_service mariadb "could not create the services' databases"
}

rabbitmqctl_() {
  nsx setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups env HOME=/var/lib/rabbitmq \
    /usr/lib/rabbitmq/bin/rabbitmqctl -q -n rabbit@localhost "$@"
}

start_rabbitmq() {
  # epmd started here, so that its PID is ours to stop.
  run_process epmd rabbitmq /usr/bin/epmd -address "$LC_HOST"
  run_process rabbitmq rabbitmq env RABBITMQ_NODENAME=rabbit@localhost \
    RABBITMQ_NODE_IP_ADDRESS="$LC_HOST" RABBITMQ_NODE_PORT="$LC_RABBITMQ_PORT" ERL_EPMD_ADDRESS="$LC_HOST" RUNNING_UNDER_SYSTEMD=1 \
    /usr/lib/rabbitmq/bin/rabbitmq-server
  wait_for rabbitmq 120 rabbitmqctl_ await_startup
  rabbitmqctl_ list_users | grep -q '^openstack' || rabbitmqctl_ add_user openstack "$(password)" >/dev/null
  rabbitmqctl_ change_password openstack "$(password)" >/dev/null
  rabbitmqctl_ set_permissions openstack '.*' '.*' '.*' >/dev/null
}
health_epmd() { port_answers "$LC_HOST" "$LC_EPMD_PORT"; }
health_rabbitmq() { port_answers "$LC_HOST" "$LC_RABBITMQ_PORT"; }

start_memcached() {
  run_process memcached memcache /usr/bin/memcached -l "$LC_HOST" -p "$LC_MEMCACHED_PORT" -m 64 -U 0
  wait_for memcached 30 health_memcached
}
health_memcached() { port_answers "$LC_HOST" "$LC_MEMCACHED_PORT"; }

# After OpenStack's services: they use all three until they stop.
stop_infra() { stop_services mariadb epmd rabbitmq memcached; }

# The namespace, last: what lived in it (links, bridges, iptables rules) goes with it.
remove_namespace() {
  if ip netns list 2>/dev/null | grep -qw "$LC_NS"; then
    ip netns delete "$LC_NS"
  fi
}
