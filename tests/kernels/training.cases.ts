// The optimizers (SGD, AdamW, Adam) over a model's parameters, the elementwise losses and the ReLU / LeakyReLU
// modules with a following Dropout, against the float64 references.
import type { Gpu } from '../../src/gpu/gpu.ts';
import { Dropout } from '../../src/nn/dropout.ts';
import { LeakyReLU, ReLU } from '../../src/nn/activations.ts';
import { Linear } from '../../src/nn/linear.ts';
import { Sequential } from '../../src/nn/sequential.ts';
import { Variable } from '../../src/nn/tape.ts';
import { binaryCrossEntropyWithLogits, mseLoss } from '../../src/train/loss.ts';
import { Adam, AdamW, SGD, type Optimizer } from '../../src/train/optim.ts';
import * as adamRef from '../reference/adam.ts';
import * as ew from '../reference/elementwise.ts';
import * as lossRef from '../reference/loss.ts';
import * as sgdRef from '../reference/sgd.ts';
import { assertClose, assertThrows, randInt, randomArray, repeat, type KernelCase } from './harness.ts';

type Kind = 'sgd' | 'sgd-nesterov' | 'adamw' | 'adam';

/** A small model to optimize. */
function model(gpu: Gpu, seed: number) {
  return new Sequential([new Linear(5, 7), new ReLU(), new Linear(7, 3)]).init(gpu, { seed });
}

export const cases: KernelCase[] = [
  {
    name: 'SGD (momentum, Nesterov), AdamW and Adam over model.parameters() match float64: three steps, all or some',
    async run(gpu) {
      await repeat(8, 71, async (rand, i) => {
        const kind = (['sgd', 'sgd-nesterov', 'adamw', 'adam'] as Kind[])[i % 4];
        const m = model(gpu, i);
        const store = m.parameterStore;
        const all = m.parameters();
        const subset = i >= 4; // then only the first Linear's parameters, updated one range at a time
        const params = subset ? all.filter((p) => p.name.startsWith('0.')) : all;
        const lr = 0.01 + 0.1 * rand(),
          wd = rand() < 0.5 ? 0 : 0.01;
        const opt: Optimizer =
          kind === 'adamw'
            ? new AdamW(params, { lr, weightDecay: wd })
            : kind === 'adam'
              ? new Adam(params, { lr, weightDecay: wd })
              : new SGD(params, {
                  lr,
                  momentum: 0.9,
                  dampening: kind === 'sgd' ? 0.1 : 0,
                  nesterov: kind === 'sgd-nesterov',
                  weightDecay: wd,
                });
        const p = Float64Array.from((await store.values.read()) as Float32Array);
        const m1 = new Float64Array(p.length),
          v1 = new Float64Array(p.length);
        const inSet = new Uint8Array(p.length);
        for (const q of params)
          inSet.fill(1, store.slot(q.name).offset, store.slot(q.name).offset + store.slot(q.name).size);
        for (let t = 1; t <= 3; t++) {
          // The gradients of a real step (read back for the reference).
          opt.zeroGrad();
          m.forward(gpu.tensor('f32', [9, 5], randomArray(rand, 45))).backward(
            gpu.tensor('f32', [9, 3], randomArray(rand, 27)),
          );
          const grad = (await store.grads.read()) as Float32Array;
          opt.step();
          const cfg = { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: wd };
          const want = Float64Array.from(p),
            wm = Float64Array.from(m1),
            wv = Float64Array.from(v1);
          if (kind === 'adamw') adamRef.adamWStep(want, grad, wm, wv, cfg, t);
          else if (kind === 'adam') adamRef.adamStep(want, grad, wm, wv, cfg, t);
          else
            sgdRef.sgdStep(
              want,
              grad,
              wm,
              {
                lr,
                momentum: 0.9,
                dampening: kind === 'sgd' ? 0.1 : 0,
                nesterov: kind === 'sgd-nesterov',
                weightDecay: wd,
              },
              t,
            );
          for (let k = 0; k < p.length; k++) if (!inSet[k]) (want[k] = p[k]), (wm[k] = m1[k]), (wv[k] = v1[k]);
          const got = (await store.values.read()) as Float32Array;
          assertClose(`${kind} step ${t}`, got, want);
          p.set(got), m1.set(wm), v1.set(wv);
        }
        opt.dispose();
        m.dispose();
      });
      const m = model(gpu, 0);
      assertThrows(
        'nesterov',
        () => new SGD(m.parameters(), { nesterov: true }),
        /Nesterov momentum needs momentum > 0 and dampening 0/,
      );
      assertThrows('adamw lr', () => new AdamW(m.parameters(), { lr: -1 }), /adamw: lr must be >= 0, got -1/);
      m.dispose();
    },
  },
  {
    name: 'binaryCrossEntropyWithLogits and mseLoss: value and input gradient match float64 (mask, index, reuseInput)',
    async run(gpu) {
      await repeat(6, 72, async (rand, i) => {
        const n = randInt(rand, 1, 300),
          c = randInt(rand, 1, 20);
        const x = randomArray(rand, n * c, -5, 5);
        const y = Float32Array.from({ length: n * c }, () => (i % 2 ? rand() : randInt(rand, 0, 2)));
        const mask = Uint8Array.from({ length: n }, () => (rand() < 0.6 ? 1 : 0));
        const index = [...mask.keys()].filter((r) => mask[r]);
        const target = gpu.tensor('f32', [n, c], y);
        for (const kind of ['bce', 'mse'] as const) {
          const f = kind === 'bce' ? binaryCrossEntropyWithLogits : mseLoss;
          const want = (kind === 'bce' ? lossRef.bceWithLogits : lossRef.mse)(x, y, mask, n, c, index.length);
          for (const sel of [{ mask }, { index }, { mask, reuseInput: true }]) {
            const leaf = Variable.leaf(gpu.tensor('f32', [n, c], x), { requiresGrad: true });
            const loss = f(leaf, target, sel);
            loss.backward();
            assertClose(`${kind} loss`, [await loss.item()], [want.loss]);
            assertClose(`${kind} d input`, await leaf.grad!.read(), want.dinput);
            leaf.dispose();
          }
        }
        assertThrows(
          'target shape',
          () => mseLoss(gpu.empty('f32', [n, c]), gpu.empty('f32', [n, c + 1]), { mask }),
          /mseLoss: target must be f32 \[\d+, \d+\] \(the input's shape\)/,
        );
        target.dispose();
      });
    },
  },
  {
    name: 'ReLU and LeakyReLU modules, alone and before Dropout (one fused backward): input gradients match float64',
    async run(gpu) {
      await repeat(4, 73, async (rand, i) => {
        const n = randInt(rand, 1, 200),
          f = randInt(rand, 1, 30),
          slope = i % 2 ? 0.2 : 0;
        const act = slope ? new LeakyReLU({ negativeSlope: slope }) : new ReLU();
        const m = new Sequential([act, new Dropout(0.4)]).init(gpu, { seed: i });
        const x = randomArray(rand, n * f, -2, 2),
          dy = randomArray(rand, n * f);
        const leaf = Variable.leaf(gpu.tensor('f32', [n, f], x), { requiresGrad: true });
        const out = m.forward(leaf);
        const step = m.stepCount,
          seed = m.layers[1].dropoutSeed;
        assertClose('forward', await out.read(), ew.dropout(ew.leakyReluForward(x, slope), 0.4, seed, step));
        out.backward(gpu.tensor('f32', [n, f], dy));
        assertClose('d x', await leaf.grad!.read(), ew.leakyReluBackward(x, ew.dropout(dy, 0.4, seed, step), slope));
        m.eval();
        const plain = Variable.leaf(gpu.tensor('f32', [n, f], x), { requiresGrad: true });
        m.forward(plain).backward(gpu.tensor('f32', [n, f], dy));
        assertClose('d x (evaluation: no dropout)', await plain.grad!.read(), ew.leakyReluBackward(x, dy, slope));
        leaf.dispose(), plain.dispose(), m.dispose();
      });
    },
  },
];
