#!/usr/bin/env bash
# Spark GPU resource discovery script (spark.{driver,executor}.resource.gpu.discoveryScript):
# prints the GPUs this executor may use as Spark expects, e.g. {"name": "gpu", "addresses": ["0","1"]}.
# The addresses are CUDA device indices, which the pre-fill engine binds to. Inside a container or
# a YARN/Kubernetes allocation, nvidia-smi lists only the GPUs given to it.
set -euo pipefail
if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "gpu-discovery: nvidia-smi not found; no NVIDIA driver on this host" >&2
  exit 1
fi
indices=$(nvidia-smi --query-gpu=index --format=csv,noheader | tr -d ' ' | grep -E '^[0-9]+$' || true)
addresses=""
for i in $indices; do
  addresses="${addresses:+$addresses,}\"$i\""
done
echo "{\"name\": \"gpu\", \"addresses\": [${addresses}]}"
