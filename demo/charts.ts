// Live training curves drawn with uPlot: one point per epoch. Each chart's element carries the number of points
// it shows in `data-points` (the browser test reads it).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { EpochMetrics } from '../src/train/trainer.ts';

const HEIGHT = 220;

/** Whole epochs on the x axis. */
const EPOCH_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000];

function lineChart(
  el: HTMLElement,
  series: { label: string; stroke: string }[],
  y: uPlot.Scale,
  format: (v: number) => string,
  yTicks?: uPlot.Axis['values'],
): uPlot {
  const opts: uPlot.Options = {
    width: Math.max(240, el.clientWidth),
    height: HEIGHT,
    scales: { x: { time: false }, y },
    axes: [
      { label: 'epoch', incrs: EPOCH_STEPS },
      { values: yTicks, size: 52 },
    ],
    series: [
      { label: 'epoch' },
      ...series.map((s) => ({
        ...s,
        width: 1.5,
        value: (_u: uPlot, v: number | null) => (v == null ? '–' : format(v)),
      })),
    ],
    cursor: { drag: { x: false, y: false } },
  };
  return new uPlot(opts, [[], ...series.map(() => [])], el);
}

export class MetricCharts {
  private readonly loss: uPlot;
  private readonly accuracy: uPlot;

  /** `second`: the accuracy drawn beside the training accuracy (validation on Cora, test for a graph fold). */
  constructor(
    private readonly lossEl: HTMLElement,
    private readonly accEl: HTMLElement,
    private readonly second: { label: string; key: 'valAcc' | 'testAcc' } = { label: 'validation', key: 'valAcc' },
  ) {
    const percent = (v: number) => `${Math.round(v * 100)}%`;
    this.loss = lineChart(lossEl, [{ label: 'training loss', stroke: '#d1495b' }], { auto: true }, (v) => v.toFixed(4));
    this.accuracy = lineChart(
      accEl,
      [
        { label: 'train', stroke: '#00798c' },
        { label: second.label, stroke: '#edae49' },
      ],
      { auto: false, range: [0, 1] },
      (v) => `${(v * 100).toFixed(1)}%`,
      (_u, ticks) => ticks.map(percent),
    );
    new ResizeObserver(() => this.fit()).observe(lossEl.parentElement!);
  }

  /** Shows the whole history so far. */
  update(history: readonly EpochMetrics[]): void {
    const epochs = history.map((m) => m.epoch);
    this.loss.setData([epochs, history.map((m) => m.loss)]);
    this.accuracy.setData([epochs, history.map((m) => m.trainAcc), history.map((m) => m[this.second.key])]);
    this.lossEl.dataset.points = String(epochs.length);
    this.accEl.dataset.points = String(epochs.length);
  }

  clear(): void {
    this.update([]);
  }

  private fit(): void {
    for (const [chart, el] of [
      [this.loss, this.lossEl],
      [this.accuracy, this.accEl],
    ] as const) {
      const width = Math.max(240, el.clientWidth);
      if (width !== chart.width) chart.setSize({ width, height: HEIGHT });
    }
  }
}
