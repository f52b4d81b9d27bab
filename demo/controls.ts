// The training form: reads the run configuration and keeps the buttons in step with the run's state.
import type { PlanetoidName } from '../src/data/planetoid.ts';

export interface DemoConfig {
  dataset: PlanetoidName;
  model: 'gatv2' | 'gat';
  heads: number;
  hiddenChannels: number;
  dropout: number;
  lr: number;
  weightDecay: number;
  epochs: number;
  seed: number;
}

/** idle: no run; running; paused: a run stopped part-way; done: all epochs ran; busy: loading or building. */
export type RunState = 'idle' | 'busy' | 'running' | 'paused' | 'done';

export class Controls {
  readonly start: HTMLButtonElement;
  readonly pause: HTMLButtonElement;
  readonly reset: HTMLButtonElement;
  private readonly status: HTMLElement;

  constructor(private readonly form: HTMLFormElement) {
    const button = (id: string) => document.getElementById(id) as HTMLButtonElement;
    this.start = button('start');
    this.pause = button('pause');
    this.reset = button('reset');
    this.status = document.getElementById('status')!;
  }

  /** The form's values; throws with the field's name when one is out of range. */
  read(): DemoConfig {
    const f = this.form;
    const field = (name: string) => f.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
    const num = (name: string, integer: boolean) => {
      const el = field(name) as HTMLInputElement;
      const v = Number(el.value);
      if (!el.checkValidity() || el.value === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
        throw new Error(`${el.parentElement?.firstChild?.textContent?.trim() ?? name}: ${el.validationMessage || 'not a valid number'}`);
      }
      return v;
    };
    return {
      dataset: field('dataset').value as PlanetoidName,
      model: field('model').value as 'gatv2' | 'gat',
      heads: num('heads', true),
      hiddenChannels: num('hiddenChannels', true),
      dropout: num('dropout', false),
      lr: num('lr', false),
      weightDecay: num('weightDecay', false),
      epochs: num('epochs', true),
      seed: num('seed', true),
    };
  }

  setState(state: RunState): void {
    this.start.disabled = !(state === 'idle' || state === 'paused');
    this.start.textContent = state === 'paused' ? 'Resume' : 'Start';
    this.pause.disabled = state !== 'running';
    this.reset.disabled = !(state === 'paused' || state === 'done' || state === 'running');
    // The settings are fixed for a run: Reset makes them editable again.
    for (const el of Array.from(this.form.elements)) {
      if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement) el.disabled = state !== 'idle';
    }
    document.body.dataset.state = state;
  }

  say(text: string, kind: 'info' | 'error' = 'info'): void {
    this.status.textContent = text;
    this.status.classList.toggle('error', kind === 'error');
  }
}
