// Statistics and markdown tables for the benchmark results. Every table names the device it was measured on.
import type { AdapterSummary } from '../src/gpu/device.ts';

export { median } from '../src/train/trainer.ts';

/** "google swiftshader, SwiftShader driver 5.0.0 (fallback adapter), in node" */
export function deviceLabel(info: AdapterSummary): string {
  const name = [info.vendor, info.architecture].filter(Boolean).join(' ') || 'unknown adapter';
  const detail = [info.description || info.device, info.isFallbackAdapter ? 'fallback adapter' : '']
    .filter(Boolean)
    .join(', ');
  return `${name}${detail ? ` (${detail})` : ''}, in ${info.runtime === 'node' ? 'Node (Dawn)' : 'Chromium'}`;
}

/** Fixed significant digits without exponent noise: 1234 -> "1234", 12.345 -> "12.3", 0.01234 -> "0.0123". */
export function num(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'n/a' : String(x);
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 10 ** digits) return x.toFixed(0);
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(a)));
  return x.toFixed(Math.min(decimals, 6));
}

export const pct = (x: number, digits = 1) => (Number.isFinite(x) ? `${(100 * x).toFixed(digits)}%` : 'n/a');
export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
export const int = (x: number) => Math.round(x).toLocaleString('en-US');

export interface Table {
  title: string;
  /** deviceLabel() of the device the numbers come from. */
  device: string;
  head: string[];
  rows: (string | number)[][];
  /** Lines printed under the table. */
  notes?: string[];
}

/** A markdown table: title line, device line, the table (text columns left-aligned, numbers right), notes. */
export function markdown(t: Table): string {
  const cell = (c: string | number) => (typeof c === 'number' ? num(c) : c).replace(/\|/g, '\\|');
  const texty = (i: number) => {
    const cells = t.rows.map((r) => r[i]).filter((c) => c !== '' && c !== undefined);
    return cells.filter((c) => typeof c === 'string' && /^[A-Za-z]/.test(c)).length * 2 > cells.length;
  };
  const lines = [`### ${t.title}`, '', `Device: ${t.device}`, ''];
  lines.push(`| ${t.head.join(' | ')} |`);
  lines.push(`|${t.head.map((_, i) => (i === 0 || texty(i) ? ':---' : '---:')).join('|')}|`);
  for (const r of t.rows) lines.push(`| ${r.map(cell).join(' | ')} |`);
  if (t.notes?.length) lines.push('', ...t.notes);
  return lines.join('\n') + '\n';
}
