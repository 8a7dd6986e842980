#!/usr/bin/env bash
# Spark resource discovery script for NVIDIA GPUs. Prints the GPUs this
# container sees as {"name": "gpu", "addresses": ["0", ...]}. Any problem
# (nvidia-smi missing, driver errors, "No devices were found", no GPU) exits
# non-zero with the reason on stderr, so the worker fails to start with that
# reason instead of offering an empty address.
# SPARK_GPU_CLUSTER_NVIDIA_SMI names the nvidia-smi to run (default: PATH).
set -u
smi="${SPARK_GPU_CLUSTER_NVIDIA_SMI:-nvidia-smi}"

if ! command -v "${smi}" >/dev/null 2>&1; then
    echo "gpu-discovery: nvidia-smi not found at '${smi}'; is the NVIDIA runtime enabled for this container?" >&2
    exit 1
fi
if ! output="$("${smi}" --query-gpu=index --format=csv,noheader 2>&1)"; then
    echo "gpu-discovery: '${smi} --query-gpu=index' failed: ${output}" >&2
    exit 1
fi

addresses=()
while IFS= read -r line; do
    index="${line//[[:space:]]/}"
    if [ -z "${index}" ]; then
        continue
    fi
    if [[ ! "${index}" =~ ^[0-9]+$ ]]; then
        echo "gpu-discovery: unexpected output from '${smi}': ${output}" >&2
        exit 1
    fi
    addresses+=("\"${index}\"")
done <<<"${output}"

if [ "${#addresses[@]}" -eq 0 ]; then
    echo "gpu-discovery: '${smi}' lists no GPU for this container" >&2
    exit 1
fi
joined="$(IFS=,; echo "${addresses[*]}")"
printf '{"name": "gpu", "addresses": [%s]}\n' "${joined}"
