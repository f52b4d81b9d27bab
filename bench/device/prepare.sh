#!/usr/bin/env bash
# Prepares, in .gpu-run/ (in .gitignore), everything a GPU machine without Node needs to run the bench in one call
# (bench/device/README.md): an xz -9 copy of this machine's Node binary, the `webgpu` package's JavaScript and its
# dawn.node (xz), the Vulkan loader packages, Cora's raw files, and the bench bundled into one file with esbuild
# (WGSL inlined). Run from anywhere inside the repository: bash bench/device/prepare.sh
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
D=.gpu-run
mkdir -p "$D/node_modules/webgpu/dist/linux-x64" "$D/gl" "$D/planetoid"

echo "bundling the bench (esbuild, WGSL as text)"
npx esbuild bench/device/gpu-run.ts --bundle --platform=node --format=esm --target=node20 --loader:.wgsl=text \
  --external:webgpu --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" \
  --outfile="$D/gpu-run.mjs" --log-level=warning

echo "the webgpu package: JavaScript and dawn.node (xz)"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$D/node_modules/webgpu/"
[ -s "$D/dawn.node.xz" ] || xz -9 -T2 -c node_modules/webgpu/dist/linux-x64/dawn.node >"$D/dawn.node.xz"

echo "Node $(node --version) (xz -9)"
[ -s "$D/node.xz" ] || xz -9 -T2 -c "$(command -v node)" >"$D/node.xz"

echo "Vulkan loader packages (amd64)"
if ! ls "$D"/gl/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/gpu-run-apt/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/gpu-run-apt'
  # shellcheck disable=SC2086
  apt-get $o update >/dev/null
  # shellcheck disable=SC2086
  (cd "$D/gl" && apt-get $o download libvulkan1 >/dev/null)
fi

echo "Cora"
root="${PLANETOID_DIR:-../shared/datasets/planetoid}"
cp "$root"/ind.cora.* "$D/planetoid/"

cp bench/device/run.sh "$D/run.sh"
du -sh "$D"
echo "ready: on the GPU machine, from the repository root: bash $D/run.sh   (carry $D)"
