// Saves and loads: the state-dict check (PyTorch's messages, strict and not), loads that change nothing when
// refused, safetensors errors that name the file and the tensor, the writability check run before training, and
// saves that never leave a partial file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gpu } from '../../src/gpu/gpu.ts';
import { loadCheckpoint, saveCheckpoint } from '../../src/io/checkpoint.ts';
import { checkWritable, loadCheckpointFile, saveCheckpointFile } from '../../src/io/checkpoint-node.ts';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../../src/io/safetensors.ts';
import { checkStateDict, StateDictError } from '../../src/io/state-dict.ts';
import { GATModel } from '../../src/nn/model.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('checkStateDict', () => {
  const spec = [
    { name: 'a', shape: [2, 3] },
    { name: 'b', shape: [4] },
    { name: 'c', shape: [] },
  ];
  const t = (shape: number[], data: ArrayLike<number> = new Float32Array(shape.reduce((x, y) => x * y, 1))) => ({
    shape,
    data,
  });

  test('PyTorch message: missing, unexpected, then size mismatches', () => {
    assert.throws(
      () => checkStateDict(spec, { a: t([3, 2]), x: t([1]), y: t([1]) }, { owner: 'Net' }),
      (e: StateDictError) => {
        assert.ok(e instanceof StateDictError);
        assert.equal(
          e.message,
          'Error(s) in loading state_dict for Net:\n' +
            '\tMissing key(s) in state_dict: "b", "c". \n' +
            '\tUnexpected key(s) in state_dict: "x", "y". \n' +
            '\tsize mismatch for a: copying a param with shape [3, 2] from checkpoint, the shape in current model ' +
            'is [2, 3].',
        );
        assert.deepEqual([e.missing, e.unexpected, e.mismatched], [['b', 'c'], ['x', 'y'], ['a']]);
        return true;
      },
    );
  });

  test('dtype and data length are checked; strict: false reports names instead of refusing', () => {
    assert.throws(
      () => checkStateDict(spec, { a: t([2, 3]), b: { shape: [4], data: new Float64Array(4) }, c: t([]) }),
      /dtype mismatch for b: copying a param with dtype F64 from checkpoint, the dtype in current model is F32\./,
    );
    assert.throws(
      () => checkStateDict(spec, { a: t([2, 3], [1, 2]), b: t([4]), c: t([]) }),
      /a has shape \[2, 3\] but 2 values/,
    );
    assert.throws(() => checkStateDict(spec, null as never), /not an object of named tensors/);
    const r = checkStateDict(spec, { a: t([2, 3]), z: t([1]) }, { strict: false });
    assert.deepEqual(r, { missing: ['b', 'c'], unexpected: ['z'], matched: ['a'] });
    // Shape mismatches are errors even when not strict (as in PyTorch).
    assert.throws(() => checkStateDict(spec, { a: t([6]) }, { strict: false }), /size mismatch for a/);
    assert.deepEqual(checkStateDict(spec, { a: t([2, 3]), b: t([4]), c: t([], [7]) }).matched, ['a', 'b', 'c']);
  });
});

describe('checkpoints of a GATModel', () => {
  let gpu: Gpu;
  let work: string;
  before(async () => {
    gpu = await Gpu.create();
    work = await mkdtemp(path.join(tmpdir(), 'ckpt-'));
  });
  after(async () => {
    gpu.destroy();
    await rm(work, { recursive: true, force: true });
  });

  const model = (seed: number) =>
    new GATModel({ inChannels: 20, outChannels: 3, heads: 2, hiddenChannels: 4 }).init(gpu, { seed });
  const weights = async (m: GATModel) => Buffer.from(((await m.parameterStore.values.read()) as Float32Array).buffer);

  test('a refused load leaves every weight byte-identical (wrong shape, missing, unexpected, dtype)', async () => {
    const a = model(1),
      b = model(2);
    const { tensors } = decodeSafetensors(await saveCheckpoint(a));
    const before = await weights(b);
    const names = Object.keys(tensors).sort();
    // The bad tensor is the last in load order, so a copy-as-you-go load would already have written the others.
    const cases: [Record<string, SafeTensor>, RegExp][] = [
      [{ ...tensors, '4.bias': { dtype: 'F32', shape: [4], data: new Float32Array(4) } }, /size mismatch for 4\.bias/],
      [
        Object.fromEntries(names.filter((n) => n !== '4.bias').map((n) => [n, tensors[n]!])),
        /Missing key\(s\) in state_dict: "4\.bias"/,
      ],
      [{ ...tensors, 'conv3.weight': tensors['4.bias']! }, /Unexpected key\(s\) in state_dict: "conv3\.weight"/],
      [{ ...tensors, '4.bias': { dtype: 'F64', shape: [3], data: new Float64Array(3) } }, /dtype mismatch for 4\.bias/],
    ];
    for (const [dict, re] of cases) {
      assert.throws(() => loadCheckpoint(b, encodeSafetensors(dict)), re);
      assert.ok((await weights(b)).equals(before), `weights changed by a refused load (${re})`);
    }
    loadCheckpoint(b, encodeSafetensors(tensors));
    assert.ok((await weights(b)).equals(await weights(a)), 'a good load copies every weight');
    a.dispose();
    b.dispose();
  });

  test('strict: false keeps missing tensors (also half of a fused GATv2 weight), ignores unexpected ones', async () => {
    const a = model(1),
      b = model(2);
    const da = await a.stateDict(),
      db0 = await b.stateDict();
    const { tensors } = decodeSafetensors(await saveCheckpoint(a));
    delete tensors['1.lin_r.weight'];
    delete tensors['4.att'];
    tensors.extra = { dtype: 'F32', shape: [1], data: Float32Array.of(1) };
    const r = loadCheckpoint(b, encodeSafetensors(tensors), { strict: false });
    assert.deepEqual([r.missing.sort(), r.unexpected], [['1.lin_r.weight', '4.att'], ['extra']]);
    const db = await b.stateDict();
    for (const name of Object.keys(da)) {
      const from = name === '1.lin_r.weight' || name === '4.att' ? db0 : da;
      assert.deepEqual(db[name]!.data, from[name]!.data, name);
    }
    a.dispose();
    b.dispose();
  });

  test('safetensors errors name the file and the tensor', async () => {
    const a = model(1);
    const bytes = await saveCheckpoint(a);
    const file = path.join(work, 'bad.safetensors');
    const text = Buffer.from(bytes).toString('latin1').replace('"1.att":{"dtype":"F32"', '"1.att":{"dtype":"F16"');
    await writeFile(file, Buffer.from(text, 'latin1'));
    await assert.rejects(loadCheckpointFile(a, file), (e: Error) => {
      assert.ok(e.message.startsWith(`safetensors ${file}: tensor '1.att' has unsupported dtype 'F16'`), e.message);
      return true;
    });
    await writeFile(file, bytes.subarray(0, bytes.length - 4));
    await assert.rejects(
      loadCheckpointFile(a, file),
      new RegExp(`safetensors ${file}: tensor '[^']+' data_offsets .* exceed`),
    );
    await assert.rejects(
      loadCheckpointFile(a, path.join(work, 'none.safetensors')),
      /Cannot read the checkpoint .*none\.safetensors/,
    );
    const other = new GATModel({ inChannels: 21, outChannels: 3, heads: 2, hiddenChannels: 4 }).init(gpu);
    await writeFile(file, bytes);
    await assert.rejects(
      loadCheckpointFile(other, file),
      new RegExp(`^StateDictError: ${file}: Error\\(s\\) in loading state_dict for GATModel`),
    );
    a.dispose();
    other.dispose();
  });

  test('atomic saves: the file replaced whole, no temporary file left, a failed save changes nothing', async () => {
    const a = model(1);
    const dir = await mkdtemp(path.join(work, 'save-'));
    const file = path.join(dir, 'model.safetensors');
    await writeFile(file, 'previous checkpoint');
    await saveCheckpointFile(a, file);
    assert.deepEqual(await readFile(file), Buffer.from(await saveCheckpoint(a)));
    assert.deepEqual(await readdir(dir), ['model.safetensors']);
    // A failure while the checkpoint is made (here: a disposed model) leaves the previous file as it was.
    await writeFile(file, 'previous checkpoint');
    a.dispose();
    await assert.rejects(saveCheckpointFile(a, file));
    assert.equal(await readFile(file, 'utf8'), 'previous checkpoint');
  });
});

test('a write killed midway (a file size limit: EFBIG, as a full disk would) leaves the previous file intact', () => {
  const dir = spawnSync('mktemp', ['-d']).stdout.toString().trim();
  const file = path.join(dir, 'model.safetensors');
  spawnSync('sh', ['-c', `printf previous > ${file}`]);
  // 1 MiB of zeros through the library's writer, in a process allowed to write files of 64 KiB at most.
  const script =
    `import('${path.join(ROOT, 'src/io/checkpoint-node.ts')}')` +
    `.then((m) => m.writeFileAtomically(${JSON.stringify(file)}, new Uint8Array(1 << 20)))`;
  const r = spawnSync('sh', ['-c', `ulimit -f 64; exec node --import tsx -e "${script}"`], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.ok(r.status !== 0, `the writer should have been stopped by the size limit: ${r.stdout}${r.stderr}`);
  assert.equal(spawnSync('cat', [file], { encoding: 'utf8' }).stdout, 'previous');
  spawnSync('rm', ['-rf', dir]);
});

describe('checkWritable (run by the CLI before training)', () => {
  let work: string;
  before(async () => (work = await mkdtemp(path.join(tmpdir(), 'writable-'))));
  after(() => rm(work, { recursive: true, force: true }));

  test('a missing folder, a folder, a file as folder; a writable path passes', async () => {
    await assert.rejects(
      checkWritable(path.join(work, 'no/such/dir/m.safetensors')),
      /folder .*no\/such\/dir does not exist/,
    );
    await assert.rejects(checkWritable(work), new RegExp(`Cannot write the output file ${work}: it is a folder`));
    await writeFile(path.join(work, 'f'), '');
    await assert.rejects(checkWritable(path.join(work, 'f', 'm.safetensors')), /\/f is not a folder/);
    await checkWritable(path.join(work, 'm.safetensors'));
  });

  test('no permission to create files in the folder', async (t) => {
    const ro = path.join(work, 'ro');
    await rm(ro, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(ro));
    await chmod(work, 0o755);
    await chmod(ro, 0o555);
    const target = path.join(ro, 'm.safetensors');
    if (process.getuid?.() !== 0) {
      await assert.rejects(checkWritable(target), /no permission to create files in/);
      return;
    }
    // As root every folder is writable: check as an unprivileged user instead, where that user can read the checkout
    // (a clone under a private folder, such as mktemp -d makes, is out of its reach).
    const reach = spawnSync(
      'node',
      ['-e', `require('fs').accessSync(${JSON.stringify(path.join(ROOT, 'node_modules', 'tsx'))})`],
      {
        uid: 65534,
        gid: 65534,
      },
    );
    if (reach.status !== 0) {
      t.skip('the checkout is not readable by an unprivileged user, so the check cannot run as one');
      return;
    }
    const script =
      `import('${path.join(ROOT, 'src/io/checkpoint-node.ts')}').then((m) => ` +
      `m.checkWritable(${JSON.stringify(target)}))` +
      `.then(() => console.log('passed'), (e) => console.log(e.message))`;
    const r = spawnSync('node', ['--import', 'tsx', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      uid: 65534,
      gid: 65534,
    });
    assert.match(r.stdout + r.stderr, /no permission to create files in/);
  });

  test('the CLI refuses an unwritable --save before loading data or training', () => {
    const save = path.join(work, 'missing', 'm.safetensors');
    const t0 = performance.now();
    const r = spawnSync(
      'node',
      ['--import', 'tsx', '--import', './tools/wgsl-loader.mjs', 'src/cli/train.ts', '--save', save],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`error: Cannot write the checkpoint file ${save}: the folder .* does not exist`));
    assert.doesNotMatch(r.stderr, /epoch|nodes,/);
    assert.ok(performance.now() - t0 < 30_000);
  });
});
