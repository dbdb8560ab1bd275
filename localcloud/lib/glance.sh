# shellcheck shell=bash
# Glance: the image service, one worker, images on the local file system.

LC_GLANCE_PORT=9292
LC_GLANCE_URL=http://$LC_HOST:$LC_GLANCE_PORT

configure_glance() {
  write_config /etc/glance/glance-api.conf <<CONF
[DEFAULT]
bind_host = $LC_HOST
bind_port = $LC_GLANCE_PORT
workers = 1
enabled_backends = fs:file
[database]
connection = $(database_url glance glance)
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = /var/lib/glance/images/
$(keystone_authtoken glance)
[paste_deploy]
flavor = keystone
[oslo_concurrency]
lock_path = /var/lib/glance/lock
CONF
}

_init_glance() { as_user glance glance-manage db_sync; }
init_glance() { once_per_version glance glance-api _init_glance; }

start_glance() {
  run_process glance-api glance /usr/bin/glance-api --config-file /etc/glance/glance-api.conf
}
wait_glance() { wait_for glance-api 120 health_glance_api; }
health_glance_api() { http_answers "$LC_GLANCE_URL/"; }
stop_glance() { stop_services glance-api; }
