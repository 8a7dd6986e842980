#!/usr/bin/env bash
# Query a Spark standalone master's web UI using bash alone, because images
# differ in which HTTP clients they ship (apache/spark has no curl).
#   spark-master-state.sh alive HOST PORT   exit 0 when the master is ALIVE
#   spark-master-state.sh json HOST PORT    print the /json/ document
set -u
mode="${1:?usage: spark-master-state.sh alive|json HOST PORT}"
host="${2:?missing master UI host}"
port="${3:?missing master UI port}"

if ! exec 3<>"/dev/tcp/${host}/${port}"; then
    echo "spark-master-state: cannot connect to the master UI at ${host}:${port}" >&2
    exit 1
fi
printf 'GET /json/ HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "${host}" >&3
response="$(timeout 10 cat <&3)"
exec 3>&-
body="${response#*$'\r\n\r\n'}"

case "${mode}" in
    json)
        printf '%s\n' "${body}"
        ;;
    alive)
        if ! grep -Eq '"status" *: *"ALIVE"' <<<"${body}"; then
            echo "spark-master-state: the master at ${host}:${port} is not ALIVE yet" >&2
            exit 1
        fi
        ;;
    *)
        echo "spark-master-state: unknown mode '${mode}', expected alive or json" >&2
        exit 2
        ;;
esac
