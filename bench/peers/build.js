#!/usr/bin/env node
// Build the peer contracts bench/gas.py deploys beside ours and print them as JSON on stdout:
// - EAS (SchemaRegistry, EAS) from @ethereum-attestation-service/eas-contracts, compiled from its sources
//   with its own pinned compiler (solc 0.8.29, package.json here) and the settings of its hardhat config;
// - OpenAttestation's DocumentStore from @govtechsg/document-store: the ABI and bytecode the package ships
//   (it ships no Solidity sources), read from its typechain factory without loading ethers.
const fs = require("fs");
const path = require("path");
const vm = require("vm");
const solc = require("solc");

const here = __dirname;
const modules = path.join(here, "node_modules");
// EAS's hardhat settings for 1.9.0; with them this build reproduces the bytecode of the artifacts the package
// publishes, which the output reports as matches_published_artifacts.
const EAS_SETTINGS = {
  optimizer: { enabled: true, runs: 1000000 },
  evmVersion: "paris",
  metadata: { bytecodeHash: "none" },
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
};

function buildEas() {
  const root = "@ethereum-attestation-service/eas-contracts/contracts/";
  const units = ["SchemaRegistry.sol", "EAS.sol"];
  const sources = {};
  for (const unit of units) sources[root + unit] = { content: fs.readFileSync(path.join(modules, root + unit), "utf8") };
  const findImports = (name) => {
    const file = path.join(modules, name);
    if (!file.startsWith(modules + path.sep) || !fs.existsSync(file)) return { error: `not found: ${name}` };
    return { contents: fs.readFileSync(file, "utf8") };
  };
  const input = { language: "Solidity", sources, settings: EAS_SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (output.errors || []).filter((e) => e.severity === "error");
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
  const pick = (unit, name) => {
    const c = output.contracts[root + unit][name];
    return { abi: c.abi, bytecode: "0x" + c.evm.bytecode.object };
  };
  const pkg = JSON.parse(fs.readFileSync(path.join(modules, "@ethereum-attestation-service/eas-contracts/package.json")));
  const built = { SchemaRegistry: pick("SchemaRegistry.sol", "SchemaRegistry"), EAS: pick("EAS.sol", "EAS") };
  const published = (unit, name) =>
    JSON.parse(fs.readFileSync(path.join(modules, root.replace("/contracts/", "/artifacts/contracts/"), unit, `${name}.json`))).bytecode;
  const matches = Object.keys(built).every((name) => published(`${name}.sol`, name) === built[name].bytecode);
  const { outputSelection, ...settings } = EAS_SETTINGS;
  return { package: `${pkg.name}@${pkg.version}`, compiler: solc.version(), settings, matches_published_artifacts: matches, ...built };
}

function loadDocumentStore() {
  const name = "@govtechsg/document-store";
  const file = require.resolve(`${name}/dist/contracts/factories/contracts/DocumentStore__factory.js`, { paths: [here] });
  const ethers = { ContractFactory: class {}, Interface: class {}, Contract: class {} };
  const mod = { exports: {} };
  const requireStub = (id) => {
    if (id === "ethers") return ethers;
    throw new Error(`unexpected require of ${id} in ${file}`);
  };
  vm.runInNewContext(fs.readFileSync(file, "utf8"), { exports: mod.exports, module: mod, require: requireStub });
  const factory = mod.exports.DocumentStore__factory;
  const pkg = JSON.parse(fs.readFileSync(path.join(modules, name, "package.json")));
  return { package: `${pkg.name}@${pkg.version}`, abi: factory.abi, bytecode: factory.bytecode };
}

process.stdout.write(JSON.stringify({ eas: buildEas(), document_store: loadDocumentStore() }));
