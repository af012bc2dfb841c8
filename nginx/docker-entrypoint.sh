#!/bin/sh
# Entry point of the nginx image: renders the templates in NGINX_TEMPLATE_DIR into
# NGINX_CONF_DIR with envsubst, then runs the command (nginx by default). It replaces only the
# NGINX_* names below, so nginx's own $variables stay as they are. infra/local/nginx.ts renders
# the same templates the same way for `npm start` and the tests.
set -eu

template_dir="${NGINX_TEMPLATE_DIR:-/etc/nginx/templates}"
conf_dir="${NGINX_CONF_DIR:-/etc/nginx}"

required="NGINX_PID_FILE NGINX_ERROR_LOG NGINX_ACCESS_LOG NGINX_TEMP_DIR NGINX_HTTP_LISTEN
NGINX_API_UPSTREAM NGINX_CLIENT_MAX_BODY_SIZE NGINX_WEB_ROOT"
s3_names="NGINX_S3_LISTEN NGINX_S3_UPSTREAM"
https_names="NGINX_HTTPS_LISTEN NGINX_TLS_CERTIFICATE NGINX_TLS_CERTIFICATE_KEY"

fail() {
  echo "nginx entry point: $*" >&2
  exit 1
}

# Prints the value of the variable named $1, or nothing when it is unset.
value_of() {
  eval "printf '%s' \"\${$1:-}\""
}

check_set() {
  for name in "$@"; do
    [ -n "$(value_of "$name")" ] || fail "$name is not set"
  done
}

# Renders $1 (a path below the template folder, without .template) into the config folder.
render() {
  names="$required $s3_names $https_names"
  shell_format=$(printf '${%s} ' $names)
  envsubst "$shell_format" < "$template_dir/$1.template" > "$conf_dir/$1"
}

check_set $required
mkdir -p "$NGINX_TEMP_DIR" "$conf_dir/conf.d"
rm -f "$conf_dir/conf.d/s3-proxy.conf" "$conf_dir/conf.d/https.conf"

render nginx.conf
render api-proxy.conf

if [ -n "${NGINX_S3_UPSTREAM:-}" ]; then
  check_set $s3_names
  render conf.d/s3-proxy.conf
fi

# HTTPS only when the certificate and its key are there (scripts/make-cert.sh makes a pair).
certificate="${NGINX_TLS_CERTIFICATE:-}"
key="${NGINX_TLS_CERTIFICATE_KEY:-}"
if [ -n "$certificate" ] && [ -f "$certificate" ] && [ -n "$key" ] && [ -f "$key" ]; then
  check_set $https_names
  render conf.d/https.conf
else
  echo "nginx entry point: no TLS certificate at ${certificate:-(unset)}, so HTTPS is off" >&2
fi

exec "$@"
