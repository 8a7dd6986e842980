#!/usr/bin/env bash
# Start a Spark worker only once its master reports ALIVE. A worker that
# starts first retries registration with growing back-off and can take
# minutes to join; waiting here makes a (re)start join at once.
#   wait-for-master.sh MASTER_UI_HOST MASTER_UI_PORT -- COMMAND [ARG...]
set -u
host="${1:?usage: wait-for-master.sh HOST PORT -- COMMAND...}"
port="${2:?missing master UI port}"
shift 2
if [ "${1:-}" = "--" ]; then
    shift
fi
state_script="$(dirname "$0")/spark-master-state.sh"

attempt=0
until bash "${state_script}" alive "${host}" "${port}" 2>/dev/null; do
    # Log the first wait and then every 120th, about once a minute.
    if [ $((attempt % 120)) -eq 0 ]; then
        echo "wait-for-master: master UI ${host}:${port} not ALIVE yet (attempt $((attempt + 1))), retrying every 0.5 s" >&2
    fi
    attempt=$((attempt + 1))
    # A short interval: the worker's JVM start follows the master's at once.
    sleep 0.5
done
echo "wait-for-master: master at ${host}:${port} is ALIVE, starting: $*" >&2
exec "$@"
