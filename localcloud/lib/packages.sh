# shellcheck shell=bash
# Debian 12's own OpenStack Zed, installed once, with no service started by the packages.

LC_PACKAGES=(
  mariadb-server rabbitmq-server memcached
  keystone glance-api placement-api
  nova-api nova-conductor nova-scheduler
  # nova-compute-kvm pulls in qemu-system-x86 alone (nova-compute-qemu pulls in every emulator,
  # which libvirtd then spends about a minute probing); nova.conf sets virt_type = qemu (TCG).
  nova-compute-kvm
  neutron-server neutron-linuxbridge-agent neutron-dhcp-agent neutron-l3-agent
  neutron-metadata-agent
  python3-openstackclient python3-yaml
  # The host image's builder (hostimage/) and its conversion for Glance.
  debootstrap dpkg-dev e2fsprogs qemu-utils
  curl iproute2 openssh-client
  # The APIs' relays to the machine's 127.0.0.1.
  socat
  # The smoke tests ping guests from the DHCP agent's namespace.
  iputils-ping
)

packages_missing() {
  local package
  for package in "${LC_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      echo "$package"
  done
}

install_packages() {
  local missing created_policy=""
  mapfile -t missing < <(packages_missing)
  if ((${#missing[@]} == 0)); then
    echo "  all ${#LC_PACKAGES[@]} packages already installed"
    return 0
  fi
  echo "  installing ${#missing[@]} packages and their dependencies (log: $LC_LOGS/apt.log)"
  # Maintainer scripts must start no daemon: the cloud starts its own, inside its namespace.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# written by lxdhost local-cloud for its install; removed after it\nexit 101\n' \
      >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  # Every debconf automation off (they are already off by default; a stored answer could turn
  # dbconfig-common or the endpoint registration on).
  debconf-set-selections <<'SELECTIONS'
keystone keystone/configure_db boolean false
keystone keystone/create-admin-tenant boolean false
keystone keystone/register-endpoint boolean false
glance-common glance/configure_db boolean false
glance-common glance/configure_rabbit boolean false
glance-common glance/configure_ksat boolean false
glance-api glance/configure_api-endpoint boolean false
placement-common placement/configure_db boolean false
placement-common placement/configure_ksat boolean false
placement-api placement/configure_api-endpoint boolean false
nova-common nova/configure_db boolean false
nova-common nova/configure_rabbit boolean false
nova-common nova/configure_ksat boolean false
nova-common nova/configure_neutron boolean false
nova-common nova/configure_placement boolean false
nova-api novaapi/configure_db boolean false
nova-api nova/configure_api-endpoint boolean false
neutron-common neutron/configure_db boolean false
neutron-common neutron/configure_rabbit boolean false
neutron-common neutron/configure_ksat boolean false
neutron-common neutron/configure_nova boolean false
neutron-metadata-agent neutron-metadata/configure boolean false
SELECTIONS
  local status=0
  {
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        install -y -q --no-install-recommends "${missing[@]}"
  } >>"$LC_LOGS/apt.log" 2>&1 || status=$?
  [ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d
  ((status == 0)) || die_with_log "$LC_LOGS/apt.log" "apt-get failed (exit $status)"
}
