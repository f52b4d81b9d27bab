// Sequential (torch.nn.Sequential, graph-aware as PyG's): runs its layers in order, passing the graph to the layers
// that take one (the convolutions). Children are named '0', '1', ... as PyTorch names them in state dicts.
import type { LayerGraphs } from './conv.ts';
import { Module } from './module.ts';
import { asVariable, type Features, type Variable } from './tape.ts';

export class Sequential extends Module {
  readonly layers: readonly Module[];

  constructor(layers: Module[]) {
    super();
    if (!Array.isArray(layers) || layers.length === 0) throw new Error('Sequential: give a non-empty array of modules');
    layers.forEach((m, i) => {
      if (!(m instanceof Module)) throw new Error(`Sequential: layer ${i} is not a Module`);
    });
    this.layers = [...layers];
  }

  override namedChildren(): [string, Module][] {
    return this.layers.map((m, i) => [String(i), m]);
  }

  /** x [N, F] through every layer; `graph` goes to the layers that take one. */
  override forward(x: Features, graph?: LayerGraphs): Variable {
    let h = asVariable(x);
    for (const [i, layer] of this.layers.entries()) {
      if (layer.takesGraph && !graph)
        throw new Error(`Sequential: layer ${i} (${layer.constructor.name}) needs the graph: forward(x, graph)`);
      const call = layer.forward as (x: Variable, graph?: LayerGraphs) => Variable;
      h = layer.takesGraph ? call(h, graph) : call(h);
    }
    return h;
  }
}
