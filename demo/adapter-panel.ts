// The adapter line in the header, and the message shown where WebGPU is unavailable.
import type { AdapterSummary } from '../src/gpu/device.ts';

export function showAdapter(el: HTMLElement, info: AdapterSummary, timestamps: boolean): void {
  const parts = [
    `vendor ${info.vendor || 'unknown'}`,
    `architecture ${info.architecture || 'unknown'}`,
    info.description ? info.description : '',
    info.isFallbackAdapter ? 'fallback adapter (software)' : 'not a fallback adapter',
    timestamps ? 'timestamp queries available' : 'no timestamp queries',
  ].filter(Boolean);
  el.textContent = `WebGPU adapter: ${parts.join(' · ')}`;
  el.dataset.fallback = String(info.isFallbackAdapter);
}

export function showUnavailable(banner: HTMLElement, adapterLine: HTMLElement, reason: string): void {
  adapterLine.textContent = 'No WebGPU adapter.';
  banner.hidden = false;
  banner.replaceChildren();
  const h = banner.appendChild(document.createElement('h2'));
  h.textContent = 'WebGPU is not available in this browser';
  banner.appendChild(document.createElement('p')).textContent = reason;
  const how = banner.appendChild(document.createElement('ul'));
  for (const line of [
    'Chrome or Edge 113 and later have WebGPU on Windows, macOS and ChromeOS; Safari 26 and Firefox 141 (Windows) ' +
      'have it too.',
    'On Linux, Chrome needs chrome://flags/#enable-unsafe-webgpu (and, without a GPU, ' +
      'chrome://flags/#enable-vulkan), or the command line flags --enable-unsafe-webgpu --enable-features=Vulkan.',
    'Check that hardware acceleration is on (chrome://settings/system) and that chrome://gpu lists WebGPU as enabled.',
    'The page must be served over https:// or from localhost.',
  ])
    how.appendChild(document.createElement('li')).textContent = line;
}
