#!/usr/bin/env node
// Compile a Solidity standard-JSON input (stdin) with the npm `solc` pinned in package.json and print the
// standard-JSON output (stdout). Every source, OpenZeppelin's included, is inlined by the caller
// (ledger/compile.py), so no import callback is needed and native solc gets the same input.
const solc = require("solc");
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  if (process.argv.includes("--version")) {
    process.stdout.write(solc.version());
    return;
  }
  process.stdout.write(solc.compile(input));
});
