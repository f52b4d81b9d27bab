#!/usr/bin/env bash
# Runs the bench prepared by bench/device/prepare.sh on a machine without Node, in one call of at most 8 minutes:
# the adapter's info first, then the ceilings, both kernel shapes' sweep to 1e7 edges, the Cora epoch with both
# shapes and the arxiv-sized scale run (bench/device/gpu-run.ts). From the repository root:
#   bash .gpu-run/run.sh [--dry-run] [--out DIR]
# Results go to $OUT when set (a device machine hands that folder back), else bench/results/gpu.
set -uo pipefail
D=.gpu-run
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv
# The Vulkan loader, only where the machine has none (the packages are unpacked into /).
if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
  for f in "$D"/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$nvidia_icd" ]; then export VK_DRIVER_FILES="$nvidia_icd"; fi
bin=/tmp/gpu-run-bin
mkdir -p "$bin"
[ -x "$bin/node" ] || { xz -dc "$D/node.xz" >"$bin/node" && chmod +x "$bin/node"; }
[ -s "$D/node_modules/webgpu/dist/linux-x64/dawn.node" ] || xz -dc "$D/dawn.node.xz" >"$D/node_modules/webgpu/dist/linux-x64/dawn.node"
export PLANETOID_DIR="$D/planetoid"
timeout 470 "$bin/node" "$D/gpu-run.mjs" "$@"
