#!/bin/sh
# The classic hand recipe for a Spark standalone cluster in Docker, as a
# user runs it from a blog post on each server over ssh. Figure 1b of
# bench/cold_deploy.py runs it inside each lab host and compares its time
# with playbooks/site.yml on identical hosts.
#
# Usage: manual_recipe.sh master|worker MASTER_HOST ARCHIVE WORKERS [DEB...]
#   master|worker  what this host runs: the Spark master or one worker
#   MASTER_HOST    host name of the master host, as the workers resolve it
#   ARCHIVE        `docker save` archive of the Spark image, already on the host
#   WORKERS        on the master host: wait until this many workers are ALIVE
#   DEB...         optional .deb files installed with the distribution's packages
#                  (the lab passes the GPU test double's container toolkit)
#
# Like such recipes it checks nothing beyond `set -e` and the loaded image
# name, and the comparison keeps it that way.
set -eu

role="$1"
master_host="$2"
archive="$3"
workers="$4"
shift 4

export DEBIAN_FRONTEND=noninteractive

# Prints the seconds since the start before each step, so that the bench
# logs show which step takes the time.
started="$(date +%s.%N)"
step() {
    echo "manual_recipe: $(awk -v now="$(date +%s.%N)" -v t0="$started" 'BEGIN { printf "%.1f", now - t0 }') s: $*"
}

step apt-get update and install
# 1. Docker and Compose from the distribution (Debian 12: docker.io 20.10,
#    docker-compose 1.29.2, which is Compose v1).
apt-get update -q >/dev/null
apt-get install -q -y docker.io docker-compose >/dev/null
if [ "$#" -gt 0 ]; then
    apt-get install -q -y "$@" >/dev/null
fi

step write daemon.json
# 2. daemon.json written by hand: register the NVIDIA runtime and cap logs.
mkdir -p /etc/docker
cat > /etc/docker/daemon.json <<'JSON'
{
  "runtimes": {
    "nvidia": {
      "path": "nvidia-container-runtime",
      "runtimeArgs": []
    }
  },
  "log-driver": "json-file",
  "log-opts": {
    "max-size": "10m",
    "max-file": "3"
  }
}
JSON

step restart docker
# 3. Restart Docker so that it reads daemon.json.
systemctl restart docker

step docker load
# 4. Load the Spark image from the archive (no registry on an air-gapped site).
image="$(docker load --input "$archive" | sed -n 's/^Loaded image: //p' | head -n 1)"
test -n "$image"

step write the compose file
# 5. A compose file per host, host networking so that master and workers on
#    different hosts reach each other by host name.
mkdir -p /opt/spark
if [ "$role" = master ]; then
    cat > /opt/spark/docker-compose.yml <<YAML
version: "2.4"
services:
  spark-master:
    image: ${image}
    network_mode: host
    restart: unless-stopped
    command: ["spark-class", "org.apache.spark.deploy.master.Master",
              "--host", "${master_host}", "--port", "7077", "--webui-port", "8080"]
YAML
else
    cat > /opt/spark/docker-compose.yml <<YAML
version: "2.4"
services:
  spark-worker:
    image: ${image}
    network_mode: host
    restart: unless-stopped
    command: ["spark-class", "org.apache.spark.deploy.worker.Worker",
              "--webui-port", "8081", "spark://${master_host}:7077"]
YAML
fi

step docker-compose up
# 6. Start it.
cd /opt/spark
docker-compose up -d 2>/dev/null

step started
# 7. On the master host: poll the master until every worker is ALIVE.
if [ "$role" = master ]; then
    tries=0
    while :; do
        alive="$(curl -fsS http://127.0.0.1:8080/json/ 2>/dev/null | grep -o '"state" *: *"ALIVE"' | wc -l || true)"
        if [ "${alive:-0}" -ge "$workers" ]; then
            break
        fi
        tries=$((tries + 1))
        if [ "$tries" -ge 1800 ]; then
            echo "manual_recipe: timed out after 180 s with ${alive:-0} of $workers workers ALIVE" >&2
            exit 1
        fi
        sleep 0.1
    done
    step "$alive workers ALIVE"
fi
