# shellcheck shell=bash disable=SC2034  # the settings are read by the files that source this one
# Settings and helpers of the local cloud (sourced by scripts/local-cloud).
#
# Every daemon runs inside the network namespace $LC_NS on 127.0.0.1, so nothing listens on or
# routes through the machine's own network. Each one is started by run_process, which records
# its PID; `down` stops it by that PID, never by name.

LC_NS=lxdhost-cloud
LC_HOST=127.0.0.1
LC_STATE=/var/lib/lxdhost-local-cloud  # password, SSH key, uwsgi files, clouds.yaml, markers
LC_RUN=/run/lxdhost-local-cloud        # PID files, and the checkout the cloud was started from
LC_LOGS=/var/log/lxdhost-local-cloud   # one log per process: its stdout and stderr
LC_CLOUD=lxdhost-local                 # the clouds.yaml entry of the project's member user
LC_CLOUD_ADMIN=lxdhost-local-admin     # ... and of the cloud's admin
LC_CLOUDS_YAML=/etc/openstack/clouds.yaml
LC_REGION=RegionOne
LC_PROJECT=lxdhost
LC_USER=lxdhost

# The flat external network: its uplink address sits on a veth end inside the namespace, so the
# namespace reaches floating IPs, and guests reach the mirror served there through the router.
LC_EXT_DEVICE=lcext0        # the physical network "external" (the linuxbridge agent's side)
LC_EXT_UPLINK=lcext0p       # its peer, holding the uplink address
LC_EXT_CIDR=172.24.4.0/24
LC_EXT_UPLINK_IP=172.24.4.1
LC_EXT_POOL_START=172.24.4.100
LC_EXT_POOL_END=172.24.4.200
LC_EXT_NETWORK=public
# VXLAN tenant networks (MTU 1450, as on most clouds) need a local endpoint address.
LC_VXLAN_DEVICE=lcvx0
LC_VXLAN_IP=10.254.0.1

# The machine's own shell reaches the cloud as a user's machine reaches theirs: each API answers
# on the machine's 127.0.0.1 too (a socat relay on each side of a Unix socket in $LC_RUN), and
# the external network's range is routed into the namespace through a veth pair, whose traffic
# leaves the namespace's uplink as $LC_EXT_UPLINK_IP (what Pulumi.local.yaml lets in).
# The APIs so relayed, NAME:PORT, each port from its service's lib/<service>.sh: LC_API_PORTS, in
# scripts/local-cloud once every part is sourced.
LC_HOST_LINK=lchost0        # on the machine's side
LC_HOST_LINK_PEER=lchost0p  # in the namespace
LC_HOST_LINK_IP=10.254.1.1
LC_HOST_LINK_PEER_IP=10.254.1.2
LC_HOST_LINK_PREFIX=30

LC_COMPUTE_HOST=lxdhost-local  # nova's and neutron's `host`: they must match for port binding
# The scale mode's compute host on Nova's FakeDriver (lib/fake.sh): its nova and neutron `host`,
# its linuxbridge agent's namespace and VXLAN endpoint, the flavor that lands on it alone, and
# the placement trait that keeps each flavor on its own host.
LC_FAKE_HOST=lxdhost-fake
LC_FAKE_NS=lxdhost-fake
LC_FAKE_VXLAN_DEVICE=lcfvx0
LC_FAKE_VXLAN_IP=10.254.0.2
LC_FAKE_FLAVOR=lxd.fake
LC_FAKE_TRAIT=CUSTOM_LXDHOST_FAKE
LC_IMAGE=debian-12-lxdhost
LC_FLAVOR=lxd.host
LC_KEYPAIR=lxdhost-local

LC_MIN_MEMORY_MIB=6144  # the cloud takes about 3.2 GiB, an LXD host guest 2 GiB more
LC_MIN_DISK_GIB=15      # packages 1.1 GiB, images about 3 GiB, instances and Glance copies

# Debian's own python3 and OpenStack commands, never a python3 another tool put first on PATH.
export PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin

# say, phase, die, die_with_log and show_log: scripts/lib/log.sh, which scripts/local-cloud
# sources first. These helpers fail for their caller: a failure names the line that called them.
LOG_REPORTERS+=(die_service setup_step once_per_version wait_for in_parallel)

# die_service NAME MESSAGE: a failure of one service, with the end of its log.
die_service() {
  local name=$1
  shift
  die_with_log "$LC_LOGS/$name.log" "$name: $*"
}

# setup_step NAME CMD...: a one-shot set-up command, its output to $LC_LOGS/setup-NAME.log; on
# a failure, the end of that log.
setup_step() {
  local name=$1
  shift
  # In the background, so that errexit holds inside the step: in a function called on the left
  # of `||`, bash ignores it, and only the step's last command would count.
  "$@" >"$LC_LOGS/setup-$name.log" 2>&1 &
  wait "$!" || die_with_log "$LC_LOGS/setup-$name.log" "set-up step '$name' failed"
}

nsx() { ip netns exec "$LC_NS" "$@"; }

# as_user USER CMD...: a one-shot command in the namespace as USER.
as_user() {
  local user=$1
  shift
  nsx setpriv --reuid="$user" --regid="$user" --init-groups -- env HOME="/var/lib/$user" "$@"
}

# A PID file holds "PID START": START, the process's start time (field 22 of /proc/PID/stat),
# tells our process from a later one that reuses its PID after a crash or a reboot.
# start_time PID: field 22 of /proc/PID/stat, counted after the command's closing parenthesis
# (the command itself may hold spaces and parentheses).
start_time() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  awk '{ print $20 }' <<<"$stat"
}
pid_of() {
  local pid start
  [ -f "$LC_RUN/$1.pid" ] || return 1
  read -r pid start <"$LC_RUN/$1.pid" || return 1
  [ -n "$pid" ] && [ "$(start_time "$pid")" = "$start" ] && echo "$pid"
}
is_running() { pid_of "$1" >/dev/null; }

# run_process NAME USER CMD...: start CMD in the namespace as USER (root: as is), its output to
# $LC_LOGS/NAME.log, its PID (the daemon's own: ip netns exec and setpriv exec) to
# $LC_RUN/NAME.pid. A process already running under that name is left alone. The daemon does
# not inherit the lock's descriptor (9), which would hold the lock as long as it runs.
# USER `machine` starts it as root in the machine's own namespace instead (the loopback relays).
run_process() {
  local name=$1 user=$2 prefix=(ip netns exec "$LC_NS")
  shift 2
  if is_running "$name"; then
    return 0
  fi
  echo "==== $(date -u +%FT%TZ) started by local-cloud: $*" >>"$LC_LOGS/$name.log"
  case $user in
    machine) prefix=() ;;
    root) ;;
    *) prefix+=(setpriv --reuid="$user" --regid="$user" --init-groups -- env HOME="/var/lib/$user") ;;
  esac
  "${prefix[@]}" "$@" >>"$LC_LOGS/$name.log" 2>&1 </dev/null 9>&- &
  echo "$! $(start_time $!)" >"$LC_RUN/$name.pid"
}

# run_process_in NS NAME USER CMD...: run_process in network namespace NS instead of $LC_NS.
run_process_in() {
  local LC_NS=$1
  shift
  run_process "$@"
}

# stop_services NAME...: TERM to all of them at once, then wait for each (KILL after 20 s):
# one by one, a few slow exits add up to over a minute.
stop_services() {
  local name pid child pids=() children=()
  for name in "$@"; do
    if pid=$(pid_of "$name"); then
      # Their workers (neutron-server's, uwsgi's) outlive them by a few seconds: wait for them too.
      for child in $(descendants "$pid"); do
        children+=("$name-worker:$child")
      done
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$name:$pid")
    fi
  done
  for name in "${pids[@]}" "${children[@]}"; do
    stop_pid "${name%%:*}" "${name#*:}"
  done
  for name in "$@"; do
    rm -f "$LC_RUN/$name.pid"
  done
}

# descendants PID: its children, theirs, and so on.
descendants() {
  local children child
  # One line of space-separated PIDs per thread.
  read -ra children <<<"$(cat /proc/"$1"/task/*/children 2>/dev/null | tr '\n' ' ')"
  for child in "${children[@]}"; do
    echo "$child"
    descendants "$child"
  done
}

# stop_pid NAME PID: TERM, then KILL after 20 s.
stop_pid() {
  local name=$1 pid=$2 i started=$SECONDS
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || return 0  # a second TERM (after stop_services') is harmless
  for i in $(seq 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "  $name (pid $pid) ignored TERM for 20 s: KILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  echo "  stopped $name (pid $pid) in $((SECONDS - started)) s"
}

# wait_for NAME TIMEOUT CHECK...: poll CHECK every second until it succeeds. If NAME's process
# dies, or TIMEOUT seconds pass, fail naming the service and showing its log.
wait_for() {
  local name=$1 timeout=$2 i
  shift 2
  for ((i = 0; i < timeout; i++)); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    if [ -f "$LC_RUN/$name.pid" ] && ! is_running "$name"; then
      die_service "$name" "exited while starting"
    fi
    sleep 1
  done
  die_service "$name" "did not answer within $timeout s ($*)"
}

# in_parallel WHAT FUNCTION...: the functions side by side, each in a subshell; once all have
# finished, a failure of any of them stops the script, naming WHAT.
in_parallel() {
  local what=$1 function pid pids=() failed=0
  shift
  for function in "$@"; do
    "$function" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  ((failed == 0)) || die "$what failed (see above)"
}

# service_answers NAME: NAME's health check, health_NAME (dashes as underscores) in the lib file
# that starts it; a relay's and a loopback's take the port from the name.
service_answers() {
  case $1 in
    relay-*) health_relay "${1#relay-}" ;;
    loopback-*) health_loopback "${1#loopback-}" ;;
    *) "health_${1//-/_}" ;;
  esac
}

http_answers() { nsx curl -s -o /dev/null --max-time 5 "$1"; }
port_answers() { nsx bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# The admin's and the project user's credentials, for the openstack client inside the namespace.
os_admin() { nsx env OS_CLIENT_CONFIG_FILE="$LC_STATE/clouds.yaml" openstack --os-cloud "$LC_CLOUD_ADMIN" "$@"; }

password() { cat "$LC_STATE/password"; }

# ---- configuration files: what every service's configure_ and init_ functions write with

transport_url() { echo "rabbit://openstack:$(password)@$LC_HOST:$LC_RABBITMQ_PORT/"; }
database_url() { echo "mysql+pymysql://$1:$(password)@$LC_HOST/$2"; }

# The [keystone_authtoken] section of a service that checks tokens as service user $1.
keystone_authtoken() {
  cat <<CONF
[keystone_authtoken]
www_authenticate_uri = $LC_KEYSTONE_URL
auth_url = $LC_KEYSTONE_URL
memcached_servers = $LC_HOST:$LC_MEMCACHED_PORT
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $(password)
region_name = $LC_REGION
CONF
}

# A section that authenticates as service user $2 (nova's [placement], [neutron], ...).
service_credentials() {
  cat <<CONF
[$1]
auth_url = $LC_KEYSTONE_URL/v3
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $2
password = $(password)
region_name = $LC_REGION
CONF
}

# write_config FILE: the file from stdin; the package's original kept once as FILE.debian-orig.
write_config() {
  local file=$1
  [ -e "$file" ] && [ ! -e "$file.debian-orig" ] && cp -a "$file" "$file.debian-orig"
  cat >"$file"
}

# A uwsgi application: one process, on $LC_HOST:PORT, as USER.
write_uwsgi() {  # NAME PORT WSGI_FILE USER THREADS
  cat >"$LC_STATE/uwsgi/$1.ini" <<INI
[uwsgi]
plugins = python3
master = true
processes = 1
threads = $5
enable-threads = true
lazy-apps = true
die-on-term = true
no-orphans = true
buffer-size = 65535
http-socket = $LC_HOST:$2
wsgi-file = $3
uid = $4
gid = $4
chdir = /var/lib/$4
name = $1
# Without it keystone's uwsgi keeps client connections that its clients never reuse.
add-header = Connection: close
INI
}

# A step that runs once per installed version of PACKAGE (db syncs, bootstraps): `up` after
# `down` skips what the databases already hold.
once_per_version() {  # NAME PACKAGE FUNCTION
  local marker="$LC_STATE/done/$1" version
  version=$(dpkg-query -W -f='${Version}' "$2")
  if [ "$(cat "$marker" 2>/dev/null)" = "$version" ]; then
    return 0
  fi
  setup_step "$1" "$3"
  echo "$version" >"$marker"
}
