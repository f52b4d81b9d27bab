#!/usr/bin/env bash
# One-time setup on a Debian/Ubuntu machine: Chromium (for the browser tests, and its SwiftShader Vulkan driver
# for WebGPU on machines without a GPU), the Vulkan loader, and the locked npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 || ! ldconfig -p | grep -q libvulkan.so.1; then
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium libvulkan1 >/dev/null
fi
npm ci --no-audit --no-fund
