#!/usr/bin/env node
// A native-solc-compatible front for the pinned npm solc (wasm): answers `--version` and
// `--standard-json` (stdin -> stdout), resolving imports from the project root, node_modules
// and any --base-path / --include-path / --allow-paths given. Used by forge, slither and flock.
'use strict';
const fs = require('fs');
const path = require('path');
const root = path.resolve(__dirname, '..');
const solc = require(path.join(root, 'node_modules', 'solc'));

const args = process.argv.slice(2);
if (args.includes('--version')) {
  process.stdout.write('solc, the solidity compiler commandline interface\nVersion: ' + solc.version() + '\n');
  process.exit(0);
}
if (!args.includes('--standard-json')) {
  process.stderr.write('usage: solc.js --version | --standard-json [--base-path P] [--include-path P]\n');
  process.exit(2);
}
const bases = [process.cwd(), root, path.join(root, 'node_modules')];
for (let i = 0; i < args.length; i++) {
  if (['--base-path', '--include-path', '--allow-paths'].includes(args[i]) && args[i + 1]) {
    for (const p of args[i + 1].split(',')) bases.push(path.resolve(p));
  }
}
function findImports(importPath) {
  const candidates = path.isAbsolute(importPath) ? [importPath] : bases.map((b) => path.join(b, importPath));
  for (const c of candidates) {
    if (fs.existsSync(c) && fs.statSync(c).isFile()) return { contents: fs.readFileSync(c, 'utf8') };
  }
  return { error: 'File not found: ' + importPath };
}
const input = fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImports }));
