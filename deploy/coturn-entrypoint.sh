#!/bin/sh
# Starts coturn with its TURN REST secret (docker-compose.yml's coturn service runs this).
#
# coturn takes `static-auth-secret` from its command line or its config file. A command line
# is readable by every user of the host (`ps`, /proc/<pid>/cmdline), so the secret goes into
# the config instead: this copies the mounted config to an owner-only file on a tmpfs, adds the
# secret from TURN_SECRET (or the file TURN_SECRET_FILE names, e.g. a compose secret), drops
# the variable, and runs coturn on that copy. Other arguments go to turnserver as they are.
#
# TURN_CONFIG (default /etc/coturn/turnserver.conf) and TURN_RUN_DIR (default /var/lib/coturn,
# a tmpfs in compose) say where the config is read and its copy written; the tests run this
# script with their own.
set -eu

if [ -n "${TURN_SECRET_FILE:-}" ]; then
  TURN_SECRET=$(cat "$TURN_SECRET_FILE")
fi
if [ -z "${TURN_SECRET:-}" ]; then
  echo "coturn-entrypoint: set TURN_SECRET (or TURN_SECRET_FILE)" >&2
  exit 64
fi
case "$TURN_SECRET" in
  *"
"*|*"#"*)
    # A newline would end the option and coturn reads `#` as the start of a comment.
    echo "coturn-entrypoint: TURN_SECRET must be one line without '#' (openssl rand -hex 32)" >&2
    exit 64
    ;;
esac

config=${TURN_CONFIG:-/etc/coturn/turnserver.conf}
copy=${TURN_RUN_DIR:-/var/lib/coturn}/turnserver.conf

umask 077
rm -f "$copy"
{
  cat "$config"
  echo
  # printf is the shell's own: the secret appears on no command line.
  printf 'static-auth-secret=%s\n' "$TURN_SECRET"
} >"$copy"
chmod 600 "$copy"
unset TURN_SECRET TURN_SECRET_FILE

exec turnserver -c "$copy" "$@"
