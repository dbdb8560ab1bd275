# shellcheck shell=bash
# Nova: API and metadata under uwsgi, conductor, scheduler, and nova-compute driving libvirt's
# qemu in TCG (KVM hangs on these machines).

LC_NOVA_API_PORT=8774
LC_NOVA_URL=http://$LC_HOST:$LC_NOVA_API_PORT
LC_NOVA_METADATA_PORT=8775
LC_NOVA_METADATA_URL=http://$LC_HOST:$LC_NOVA_METADATA_PORT

configure_nova() {
  write_config /etc/nova/nova.conf <<CONF
[DEFAULT]
my_ip = $LC_HOST
host = $LC_COMPUTE_HOST
state_path = /var/lib/nova
pybasedir = /usr/lib/python3/dist-packages
transport_url = $(transport_url)
osapi_compute_listen = $LC_HOST
osapi_compute_workers = 1
metadata_listen = $LC_HOST
metadata_workers = 1
# Keep Glance's qcow2 as the instances' base: converting it to an 8 GiB raw file buys nothing.
force_raw_images = false
[api]
auth_strategy = keystone
[api_database]
connection = $(database_url nova nova_api)
[database]
connection = $(database_url nova nova)
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = -1
$(keystone_authtoken nova)
[service_user]
send_service_user_token = true
auth_url = $LC_KEYSTONE_URL
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = nova
password = $(password)
$(service_credentials placement placement)
$(service_credentials neutron neutron)
service_metadata_proxy = true
metadata_proxy_shared_secret = $(password)
[glance]
region_name = $LC_REGION
[cinder]
os_region_name = $LC_REGION
# A VNC console, as most clouds have: its video device takes the guest's PCI slot 2, so the
# first NIC is ens3, as on those clouds (without it the NIC is ens2). Nothing proxies it.
[vnc]
enabled = true
server_listen = $LC_HOST
server_proxyclient_address = $LC_HOST
[spice]
enabled = false
[oslo_concurrency]
lock_path = /var/lib/nova/tmp
[oslo_policy]
policy_dirs = /etc/nova/policy.d
CONF
  write_config /etc/nova/nova-compute.conf <<CONF
[DEFAULT]
compute_driver = libvirt.LibvirtDriver
[libvirt]
virt_type = qemu
CONF
  write_uwsgi nova-api "$LC_NOVA_API_PORT" /usr/bin/nova-api-wsgi nova 1
  write_uwsgi nova-metadata "$LC_NOVA_METADATA_PORT" /usr/bin/nova-metadata-wsgi nova 1
  # libvirt without systemd: no D-Bus for polkit, so plain group permissions on its socket; no
  # AppArmor profile for the guests.
  grep -q '^security_driver = "none"' /etc/libvirt/qemu.conf ||
    echo 'security_driver = "none"' >>/etc/libvirt/qemu.conf
  grep -q '^auth_unix_rw' /etc/libvirt/libvirtd.conf || cat >>/etc/libvirt/libvirtd.conf <<'CONF'
# lxdhost local-cloud: no polkit without D-Bus
unix_sock_group = "libvirt"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
auth_unix_ro = "none"
auth_unix_rw = "none"
CONF
}

# Nova's cell mappings keep the database and message queue URLs they were made with, passwords
# in them: a state directory made afresh (a new password) beside databases that stayed would
# leave Nova unable to reach its cells. Each set-up brings both cells to this configuration, and
# keeps one cell1, the first: an earlier set-up could add a second beside a stale one.
NOVA_CELL0_UUID=00000000-0000-0000-0000-000000000000
nova_cell1_uuids() {
  as_user nova nova-manage cell_v2 list_cells | awk -F' *[|] *' '$2 == "cell1" { print $3 }'
}
_init_nova() {
  local cells cell1 extra
  as_user nova nova-manage api_db sync
  as_user nova nova-manage cell_v2 map_cell0 --database_connection "$(database_url nova nova_cell0)"
  as_user nova nova-manage cell_v2 update_cell --cell_uuid "$NOVA_CELL0_UUID" \
    --database_connection "$(database_url nova nova_cell0)" --transport-url none:///
  cells=$(nova_cell1_uuids)
  if [ -z "$cells" ]; then
    as_user nova nova-manage cell_v2 create_cell --name=cell1
  else
    cell1=${cells%%$'\n'*}
    for extra in ${cells#"$cell1"}; do
      # Refused (and the set-up stopped) if a host or an instance is mapped to it.
      as_user nova nova-manage cell_v2 delete_cell --cell_uuid "$extra"
    done
    # The configuration's [database] connection and transport_url.
    as_user nova nova-manage cell_v2 update_cell --cell_uuid "$cell1"
  fi
  as_user nova nova-manage db sync
}
init_nova() { once_per_version nova nova-api _init_nova; }

start_nova_control() {
  run_process nova-api root /usr/bin/uwsgi_python311 --ini "$LC_STATE/uwsgi/nova-api.ini"
  run_process nova-conductor nova /usr/bin/nova-conductor --config-file /etc/nova/nova.conf
  run_process nova-scheduler nova /usr/bin/nova-scheduler --config-file /etc/nova/nova.conf
}
wait_nova_api() { wait_for nova-api 120 health_nova_api; }

start_libvirt() {
  run_process virtlogd root /usr/sbin/virtlogd
  run_process libvirtd root /usr/sbin/libvirtd
  wait_for libvirtd 60 health_libvirtd
}

start_nova_compute() {
  run_process nova-metadata root /usr/bin/uwsgi_python311 --ini "$LC_STATE/uwsgi/nova-metadata.ini"
  run_process nova-compute nova /usr/bin/nova-compute --config-file /etc/nova/nova.conf \
    --config-file /etc/nova/nova-compute.conf
}

# nova_service_up NAME [HOST]: nova-NAME reports up (conductor, scheduler, compute), on HOST
# when given.
nova_service_up() {
  os_admin compute service list --service "nova-$1" ${2:+--host "$2"} -f value -c State | grep -qx up
}

# The compute host joins cell1 once it has reported.
register_compute() {
  wait_for nova-compute 180 health_nova_compute
  wait_for nova-metadata 60 health_nova_metadata
  as_user nova nova-manage cell_v2 discover_hosts >>"$LC_LOGS/setup-nova.log" 2>&1 ||
    die_service nova-compute "nova-manage cell_v2 discover_hosts failed (log $LC_LOGS/setup-nova.log)"
}

health_nova_api() { http_answers "$LC_NOVA_URL/"; }
health_nova_metadata() { http_answers "$LC_NOVA_METADATA_URL/"; }
health_nova_conductor() { nova_service_up conductor; }
health_nova_scheduler() { nova_service_up scheduler; }
health_nova_compute() { nova_service_up compute "$LC_COMPUTE_HOST"; }
health_libvirtd() { nsx virsh -c qemu:///system version; }
health_virtlogd() { true; }  # alive is all it can say

# The guests first, while libvirtd runs to destroy them.
stop_nova_guests() {
  is_running libvirtd || return 0
  local domain
  for domain in $(nsx virsh -c qemu:///system list --name 2>/dev/null | grep '^instance-' || true); do
    nsx virsh -c qemu:///system destroy "$domain" >/dev/null && echo "  stopped guest $domain"
  done
}
stop_nova() { stop_services nova-api nova-conductor nova-scheduler nova-metadata nova-compute; }
stop_libvirt() { stop_services virtlogd libvirtd; }
