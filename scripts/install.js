#!/usr/bin/env node
// The install step: use a prebuilt binary when one loads on this machine; otherwise build from source
// with cmake-js (the main build: CUDA is compiled when nvcc is found), or with node-gyp from
// binding.gyp (CPU only) when CMake is missing. `--force` always rebuilds.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
const force = process.argv.includes('--force');

function log(msg) {
  console.log(`glm-native: ${msg}`);
}

function loads() {
  try {
    const addon = require('node-gyp-build')(root);
    const info = addon.buildInfo();
    log(`native addon ready (cpu: ${info.cpuLevel}; cuda: ${info.cuda ? `compiled, ${info.cudaDevices} device(s)` : 'not compiled'})`);
    return true;
  } catch {
    return false;
  }
}

function has(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}

function run(cmd, args, env) {
  log(`$ ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status === 0;
}

function buildWithCmake() {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  return run(process.execPath, [cmakeJs, 'compile']);
}

function buildWithNodeGyp() {
  const gyp = process.env.npm_config_node_gyp;
  if (gyp && fs.existsSync(gyp)) return run(process.execPath, [gyp, 'rebuild']);
  return run('npx', ['--no-install', 'node-gyp', 'rebuild']);
}

function main() {
  if (!force && loads()) return 0;
  log('building the native addon from source');
  let ok = false;
  if (has('cmake', ['--version'])) {
    ok = buildWithCmake();
  } else {
    log('cmake not found: building the CPU-only addon with node-gyp (binding.gyp)');
    ok = buildWithNodeGyp();
  }
  if (ok && loads()) return 0;
  console.error(
    'glm-native: the native addon could not be built.\n' +
      'Possible solutions:\n' +
      '  - install a C++17 compiler and CMake >= 3.18 (Debian: apt-get install -y g++ cmake), then npm rebuild glm-native\n' +
      '  - for CUDA, install the CUDA toolkit (nvcc on PATH); without it the addon builds for the CPU only\n' +
      '  - use a platform with a prebuilt binary (linux-x64, glibc >= 2.34)',
  );
  return 1;
}

process.exit(main());
