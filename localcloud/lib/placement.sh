# shellcheck shell=bash
# Placement: the resource inventory Nova's scheduler reads, under uwsgi.

LC_PLACEMENT_PORT=8778
LC_PLACEMENT_URL=http://$LC_HOST:$LC_PLACEMENT_PORT

configure_placement() {
  write_config /etc/placement/placement.conf <<CONF
[DEFAULT]
pybasedir = /usr/lib/python3/dist-packages
[api]
auth_strategy = keystone
[placement_database]
connection = $(database_url placement placement)
$(keystone_authtoken placement)
[oslo_policy]
policy_dirs = /etc/placement/policy.d
CONF
  write_uwsgi placement-api "$LC_PLACEMENT_PORT" /usr/bin/placement-api placement 4
}

_init_placement() { as_user placement placement-manage db sync; }
init_placement() { once_per_version placement placement-api _init_placement; }

start_placement() {
  run_process placement-api root /usr/bin/uwsgi_python311 --ini "$LC_STATE/uwsgi/placement-api.ini"
}
wait_placement() { wait_for placement-api 120 health_placement_api; }
health_placement_api() { http_answers "$LC_PLACEMENT_URL/"; }
stop_placement() { stop_services placement-api; }
