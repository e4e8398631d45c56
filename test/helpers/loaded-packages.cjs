// Preloaded with `node --require` (NODE_OPTIONS): records the npm packages whose CommonJS files the
// process compiles, and writes their names to LOADED_PACKAGES_FILE when it exits.
'use strict';
const Module = require('node:module');
const { writeFileSync } = require('node:fs');

const packages = new Set();
const compile = Module.prototype._compile;
Module.prototype._compile = function (content, filename) {
  const match = /node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(filename);
  if (match) packages.add(match[1].replace('\\', '/'));
  return compile.call(this, content, filename);
};
process.on('exit', () => writeFileSync(process.env.LOADED_PACKAGES_FILE, [...packages].sort().join('\n')));
