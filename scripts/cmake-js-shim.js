#!/usr/bin/env node
// prebuildify has no cmake-js backend: it is given this file as its `--node-gyp` and calls it like
// node-gyp (`rebuild ...`). We build with cmake-js instead and leave the result where prebuildify
// looks for it (build/Release/*.node).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const r = spawnSync(process.execPath, [cmakeJs, 'rebuild'], { cwd: root, stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
