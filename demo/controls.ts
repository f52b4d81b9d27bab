// The training forms: read the run configuration and keep the buttons in step with the run's state.
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

/** A training form: its buttons (data-action start, pause, reset), its status line, and its state. */
export class FormControls {
  readonly start: HTMLButtonElement;
  readonly pause: HTMLButtonElement;
  readonly reset: HTMLButtonElement;
  private readonly status: HTMLElement;

  /** `stateOn` carries the run's state in `data-state` (the browser test waits on it). */
  constructor(
    protected readonly form: HTMLFormElement,
    private readonly stateOn: HTMLElement,
  ) {
    const button = (action: string) => form.querySelector<HTMLButtonElement>(`button[data-action="${action}"]`)!;
    this.start = button('start');
    this.pause = button('pause');
    this.reset = button('reset');
    this.status = form.querySelector<HTMLElement>('.status')!;
  }

  /** A number field's value; throws with the field's label when it is out of range. */
  protected num(name: string, integer: boolean): number {
    const el = this.form.elements.namedItem(name) as HTMLInputElement;
    const v = Number(el.value);
    if (!el.checkValidity() || el.value === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
      throw new Error(
        `${el.parentElement?.firstChild?.textContent?.trim() ?? name}: ${el.validationMessage || 'not a valid number'}`,
      );
    }
    return v;
  }

  protected checked(name: string): boolean {
    return (this.form.elements.namedItem(name) as HTMLInputElement).checked;
  }

  protected choice(name: string): string {
    return (this.form.elements.namedItem(name) as HTMLSelectElement).value;
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
    this.stateOn.dataset.state = state;
  }

  say(text: string, kind: 'info' | 'error' = 'info'): void {
    this.status.textContent = text;
    this.status.classList.toggle('error', kind === 'error');
  }
}

/** The node-classification form (Cora, Citeseer). */
export class Controls extends FormControls {
  constructor(form: HTMLFormElement) {
    super(form, document.body);
  }

  /** The form's values; throws with the field's name when one is out of range. */
  read(): DemoConfig {
    return {
      dataset: this.choice('dataset') as PlanetoidName,
      model: this.choice('model') as 'gatv2' | 'gat',
      heads: this.num('heads', true),
      hiddenChannels: this.num('hiddenChannels', true),
      dropout: this.num('dropout', false),
      lr: this.num('lr', false),
      weightDecay: this.num('weightDecay', false),
      epochs: this.num('epochs', true),
      seed: this.num('seed', true),
    };
  }
}
