// Validate Office Open XML packages with Microsoft's Open XML SDK validator (the npm package
// @ooxml-tools/validate: the SDK compiled to WebAssembly), several files in one process.
//
//   node tests/ooxml/validate.mjs [--office-version Microsoft365] FILE...
//
// Prints one JSON array, one entry per FILE in order: {"path", "errors": [{description, path:
// {xpath, partUri}, id, errorType}]}, or {"path", "failure"} when the SDK cannot open the
// package at all. Starting the runtime and the first validation cost about 3 s; later files take
// 0.05-1 s each, so callers should pass every file at once (tests/ooxml.py does).
import { readFile } from "node:fs/promises";
import validate, { getFileFormatFromName } from "@ooxml-tools/validate";

const args = process.argv.slice(2);
let officeVersion = "Microsoft365";
const at = args.indexOf("--office-version");
if (at >= 0) {
  officeVersion = args[at + 1];
  args.splice(at, 2);
}

const results = [];
for (const path of args) {
  try {
    const data = await readFile(path);
    // .xlsx, .xlsm, .xltx, .xltm and .xlam are all "xlsx" to the validator.
    const errors = await validate(data, getFileFormatFromName(path) ?? "xlsx", officeVersion);
    results.push({ path, errors });
  } catch (error) {
    results.push({ path, failure: String((error && error.stack) || error) });
  }
}
// Exit once the output is written: the .NET runtime would keep Node alive for another ~10 s.
process.stdout.write(JSON.stringify(results), () => process.exit(0));
