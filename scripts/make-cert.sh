#!/bin/sh
# Makes a self-signed TLS certificate for local use: tls.crt and tls.key in the folder given as
# the first argument (.local/certs by default), valid for localhost, 127.0.0.1 and ::1 for
# 365 days. `npm start` and the nginx container serve HTTPS when the pair is there. Browsers
# and clients warn about it until it is trusted, for example with `curl --cacert tls.crt`.
set -eu

dir="${1:-.local/certs}"
days=365

if ! command -v openssl >/dev/null 2>&1; then
  echo "make-cert: openssl was not found; install it (on Debian: apt-get install openssl)" >&2
  exit 1
fi

mkdir -p "$dir"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -days "$days" \
  -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
  -keyout "$dir/tls.key" -out "$dir/tls.crt"
chmod 644 "$dir/tls.crt"

echo "Wrote $dir/tls.crt and $dir/tls.key (self-signed for localhost, 127.0.0.1 and ::1, $days days)."
