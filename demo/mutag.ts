// MUTAG for the molecule mode: fetches the raw TU files from data/tu/MUTAG/ (served by the dev server, copied into
// the build: demo/build/tu-data.ts) and parses them in the page as PyG's TUDataset does (src/data/tu.ts). Also what
// the labels mean, from the dataset's README: the atom (node label) and bond (edge label) names, and the classes.
import { parseTU, type TUDataset, type TUFiles, type TUPart } from '../src/data/tu.ts';

/** The parts MUTAG has (no continuous attributes). */
const MUTAG_PARTS: readonly TUPart[] = ['A', 'graph_indicator', 'graph_labels', 'node_labels', 'edge_labels'];

/** Node labels 0..6 (MUTAG's README). */
export const ELEMENTS = ['C', 'N', 'O', 'F', 'I', 'Cl', 'Br'] as const;
/** Edge labels 0..3 (MUTAG's README). */
export const BOND_TYPES = ['aromatic', 'single', 'double', 'triple'] as const;
export type BondType = (typeof BOND_TYPES)[number];
/**
 * The classes in the order parseTU numbers them (sorted file values: -1, then 1). Label 1 marks the 125 compounds
 * with a mutagenic effect on the bacterium (Debnath et al., 1991), -1 the 63 without.
 */
export const CLASS_NAMES = ['not mutagenic', 'mutagenic'] as const;

let cache: Promise<TUDataset> | null = null;

export function loadMutag(): Promise<TUDataset> {
  if (!cache) {
    cache = fetchAndParse();
    cache.catch(() => (cache = null)); // let a later attempt try again
  }
  return cache;
}

async function fetchAndParse(): Promise<TUDataset> {
  const files: TUFiles = {};
  await Promise.all(
    MUTAG_PARTS.map(async (part) => {
      const url = new URL(`data/tu/MUTAG/MUTAG_${part}.txt`, document.baseURI);
      const res = await fetch(url);
      if (!res.ok) throw new Error(`Could not load ${url.pathname}: HTTP ${res.status}`);
      files[part] = new Uint8Array(await res.arrayBuffer());
    }),
  );
  const ds = parseTU('MUTAG', files);
  // The drawing reads elements and bond types back from the one-hot columns: they must be the README's.
  if (ds.numNodeLabels !== ELEMENTS.length || ds.numEdgeLabels !== BOND_TYPES.length || ds.numClasses !== 2) {
    throw new Error(
      `MUTAG: expected ${ELEMENTS.length} atom types, ${BOND_TYPES.length} bond types and 2 classes, ` +
        `the files have ${ds.numNodeLabels}, ${ds.numEdgeLabels} and ${ds.numClasses}`,
    );
  }
  return ds;
}

/** The column of the one in each row of a one-hot [rows, width] matrix. */
export function argmaxRows(values: ArrayLike<number>, rows: number, width: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < width; c++) if (values[r * width + c]! > values[r * width + best]!) best = c;
    out[r] = best;
  }
  return out;
}
