#!/usr/bin/env node
// Compile contracts/*.sol with the pinned solc-js (package.json: "solc": "0.8.37") into
// og_chat/devnet/artifacts.json. Offline: never calls solc.loadRemoteVersion.
// Output is deterministic (sorted sources and contracts, bytecodeHash "none").
//
//   node contracts/compile.js            write og_chat/devnet/artifacts.json
//   node contracts/compile.js --stdout   print the JSON instead (used by tests/chain/test_artifacts.py)
"use strict";

const fs = require("fs");
const path = require("path");
const solc = require("solc");

const EVM_VERSION = "shanghai";
const root = path.resolve(__dirname, "..");
const srcDir = path.join(root, "contracts");
const outFile = path.join(root, "og_chat", "devnet", "artifacts.json");

const sources = {};
for (const name of fs.readdirSync(srcDir).filter((f) => f.endsWith(".sol")).sort()) {
  sources[name] = { content: fs.readFileSync(path.join(srcDir, name), "utf8") };
}

const input = {
  language: "Solidity",
  sources,
  settings: {
    evmVersion: EVM_VERSION,
    optimizer: { enabled: true, runs: 200 },
    metadata: { bytecodeHash: "none" },
    outputSelection: {
      "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "storageLayout"] },
    },
  },
};

function findImports(importPath) {
  const full = path.join(srcDir, path.basename(importPath));
  if (fs.existsSync(full)) return { contents: fs.readFileSync(full, "utf8") };
  return { error: `not found: ${importPath}` };
}

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((e) => e.severity === "error");
for (const e of output.errors || []) process.stderr.write(e.formattedMessage + "\n");
if (errors.length) process.exit(1);

const contracts = {};
const names = [];
for (const file of Object.keys(output.contracts).sort()) {
  for (const name of Object.keys(output.contracts[file]).sort()) names.push([name, file]);
}
names.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
for (const [name, file] of names) {
  const c = output.contracts[file][name];
  const bytecode = c.evm.bytecode.object;
  if (!bytecode) continue; // abstract contracts and interfaces
  const storage = {};
  for (const s of c.storageLayout.storage) storage[s.label] = Number(s.slot);
  contracts[name] = {
    abi: c.abi,
    bytecode: "0x" + bytecode,
    deployedBytecode: "0x" + c.evm.deployedBytecode.object,
    storage,
  };
}

const artifacts = { compiler: "solc-js " + solc.version(), evmVersion: EVM_VERSION, contracts };
const text = JSON.stringify(artifacts, null, 1) + "\n";
if (process.argv.includes("--stdout")) {
  process.stdout.write(text);
} else {
  fs.writeFileSync(outFile, text);
  process.stderr.write(`wrote ${path.relative(root, outFile)} (${Object.keys(contracts).join(", ")})\n`);
}
