# shellcheck shell=bash
# Keystone: the identity service, under uwsgi.

LC_KEYSTONE_PORT=5000
LC_KEYSTONE_URL=http://$LC_HOST:$LC_KEYSTONE_PORT

configure_keystone() {
  write_config /etc/keystone/keystone.conf <<CONF
[database]
connection = $(database_url keystone keystone)
[token]
provider = fernet
[oslo_policy]
policy_dirs = /etc/keystone/policy.d
CONF
  write_uwsgi keystone "$LC_KEYSTONE_PORT" /usr/bin/keystone-wsgi-public keystone 4
}

_init_keystone() {
  as_user keystone keystone-manage db_sync
  install -d -o keystone -g keystone -m 700 /etc/keystone/fernet-keys /etc/keystone/credential-keys
  as_user keystone keystone-manage fernet_setup --keystone-user keystone --keystone-group keystone
  as_user keystone keystone-manage credential_setup --keystone-user keystone --keystone-group keystone
  as_user keystone keystone-manage bootstrap --bootstrap-password "$(password)" \
    --bootstrap-admin-url "$LC_KEYSTONE_URL/v3/" \
    --bootstrap-internal-url "$LC_KEYSTONE_URL/v3/" \
    --bootstrap-public-url "$LC_KEYSTONE_URL/v3/" --bootstrap-region-id "$LC_REGION"
}
init_keystone() { once_per_version keystone keystone _init_keystone; }

start_keystone() {
  run_process keystone root /usr/bin/uwsgi_python311 --ini "$LC_STATE/uwsgi/keystone.ini"
  wait_for keystone 60 health_keystone
  # Answering is not enough: a token proves its database and its keys too.
  wait_for keystone 60 os_admin token issue
}
health_keystone() { http_answers "$LC_KEYSTONE_URL/v3"; }
stop_keystone() { stop_services keystone; }
