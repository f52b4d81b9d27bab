// Fails when a tracked TypeScript, JavaScript module or WGSL file has a line longer than 120 columns.
// Biome formats at 120 columns but leaves long strings and comments as they are; WGSL it does not read at all.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MAX = 120;
const files = execFileSync('git', ['ls-files', '-z', '--', '*.ts', '*.mjs', '*.wgsl'], { encoding: 'utf8' })
  .split('\0')
  .filter(Boolean);
const long = [];
for (const file of files) {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  lines.forEach((line, i) => {
    const length = [...line].length; // code points, so a '±' counts once
    if (length > MAX) long.push(`${file}:${i + 1}: ${length}`);
  });
}
if (long.length) {
  process.stderr.write(`Lines longer than ${MAX} columns:\n${long.join('\n')}\n`);
  process.exit(1);
}
