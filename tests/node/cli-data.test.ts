// `npm run train -- --data FILE.npz`: the CLI trains on a user's graph, and refuses a bad file with its name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const fixture = (name: string) => `tests/fixtures/npz/${name}`;
const train = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--import', './tools/wgsl-loader.mjs', 'src/cli/train.ts', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });

test('--data trains on an .npz graph', () => {
  const r = train('--data', fixture('graph.npz'), '--epochs', '3', '--json');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /graph\.npz: 5 nodes, 6 edges, 3 features, 3 classes/);
  const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(result.final.epoch, 3);
});

test('--data refuses a bad file with an error naming it', () => {
  const r = train('--data', fixture('bad-transposed.npz'), '--epochs', '1');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /error: tests\/fixtures\/npz\/bad-transposed\.npz: edge_index: shape \(6, 2\)/);
  const f = train('--data', fixture('graph-compressed.npz'), '--epochs', '1');
  assert.equal(f.status, 1);
  assert.match(f.stderr, /graph-compressed\.npz: y must hold class labels/);
});
