// The per-kernel GPU time table, from the profiler's summary of one profiled epoch.
import type { KernelSummary } from '../src/gpu/profiler.ts';

export class KernelTable {
  private readonly body: HTMLTableSectionElement;

  constructor(
    table: HTMLTableElement,
    private readonly note: HTMLElement,
  ) {
    this.body = table.tBodies[0];
  }

  show(rows: readonly KernelSummary[], epoch: number): void {
    const total = rows.reduce((s, r) => s + r.totalMs, 0);
    this.body.replaceChildren(
      ...rows.map((r) => {
        const tr = document.createElement('tr');
        const cells = [
          r.name,
          String(r.calls),
          r.totalMs.toFixed(3),
          r.meanUs.toFixed(1),
          total > 0 ? `${((100 * r.totalMs) / total).toFixed(1)}%` : '–',
          r.gbPerS.toFixed(2),
          r.gflopPerS.toFixed(2),
        ];
        for (const c of cells) tr.appendChild(document.createElement('td')).textContent = c;
        return tr;
      }),
    );
    this.note.textContent =
      `Epoch ${epoch}: ${total.toFixed(2)} ms of GPU time in ${rows.reduce((s, r) => s + r.calls, 0)} dispatches ` +
      '(timestamp queries on one epoch in every ten, at most one a second; each dispatch then runs in a pass of its ' +
      'own).';
  }

  unavailable(): void {
    this.note.textContent =
      'This adapter does not offer timestamp queries (the timestamp-query feature), so kernels cannot be timed.';
  }

  clear(): void {
    this.body.replaceChildren();
  }
}
