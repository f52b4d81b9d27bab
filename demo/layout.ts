// A 2-D drawing of a molecule's atoms: d3-force's simulation (bonds as springs of one length, atoms repelling each
// other, no overlaps) run to rest synchronously. d3-force is deterministic (its starting positions are a fixed
// spiral and its random jiggle is seeded), so a molecule is drawn the same way every time.
import { forceCollide, forceLink, forceManyBody, forceSimulation, type SimulationNodeDatum } from 'd3-force';

export interface Point {
  x: number;
  y: number;
}

const BOND_LENGTH = 1;
const TICKS = 400;

/**
 * Positions of `numNodes` atoms joined by the undirected `bonds` (pairs of node ids), with bonds about one unit long,
 * centred on the origin and turned so that the drawing is wider than tall.
 */
export function layoutMolecule(numNodes: number, bonds: readonly (readonly [number, number])[]): Point[] {
  const nodes: SimulationNodeDatum[] = Array.from({ length: numNodes }, () => ({}));
  const links = bonds.map(([source, target]) => ({ source, target }));
  const sim = forceSimulation(nodes)
    .force('bond', forceLink(links).distance(BOND_LENGTH).strength(1).iterations(4))
    .force(
      'repel',
      forceManyBody()
        .strength(-0.6)
        .distanceMax(4 * BOND_LENGTH),
    )
    .force('space', forceCollide(0.45 * BOND_LENGTH))
    .stop();
  sim.tick(TICKS);
  return principalAxes(nodes.map((n) => ({ x: n.x ?? 0, y: n.y ?? 0 })));
}

/** The points centred and rotated so their main direction of spread lies along x. */
function principalAxes(points: Point[]): Point[] {
  const n = Math.max(1, points.length);
  const cx = points.reduce((s, p) => s + p.x, 0) / n;
  const cy = points.reduce((s, p) => s + p.y, 0) / n;
  let sxx = 0,
    syy = 0,
    sxy = 0;
  for (const p of points) {
    sxx += (p.x - cx) ** 2;
    syy += (p.y - cy) ** 2;
    sxy += (p.x - cx) * (p.y - cy);
  }
  const t = -0.5 * Math.atan2(2 * sxy, sxx - syy);
  const c = Math.cos(t),
    s = Math.sin(t);
  return points.map((p) => ({ x: c * (p.x - cx) - s * (p.y - cy), y: s * (p.x - cx) + c * (p.y - cy) }));
}
