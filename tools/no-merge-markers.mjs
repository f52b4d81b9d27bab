// Fails when a tracked file still holds a merge-conflict marker (`<<<<<<< ` or `>>>>>>> ` at a line start).
// Biome checks the code; this also covers the files it does not read (Markdown, WGSL, JSON, Python).
import { execFileSync } from 'node:child_process';

let found = '';
try {
  found = execFileSync('git', ['grep', '-nE', '^(<<<<<<<|>>>>>>>) ', '--', '.', ':!node_modules'], {
    encoding: 'utf8',
  });
} catch (err) {
  if (err.status !== 1) throw err; // 1: no match
}
if (found) {
  process.stderr.write(`Merge-conflict markers left in tracked files:\n${found}`);
  process.exit(1);
}
