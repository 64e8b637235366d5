// Regenerates the typed API client's schema from Lumen's OpenAPI document.
//   node scripts/api.mjs generate   writes openapi.json and lib/api/schema.d.ts
//   node scripts/api.mjs check      regenerates into a temporary folder, fails if either differs
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const root = path.resolve(web, "..");
const schemaJson = path.join(web, "openapi.json");
const schemaTs = path.join(web, "lib", "api", "schema.d.ts");

function python() {
  if (process.env.LUMEN_PYTHON) return process.env.LUMEN_PYTHON;
  const venv = path.join(root, ".venv", "bin", "python");
  return existsSync(venv) ? venv : "python3";
}

function run(cmd, args) {
  execFileSync(cmd, args, { cwd: web, stdio: ["ignore", "ignore", "inherit"] });
}

function generate(jsonOut, tsOut) {
  run(python(), [path.join(root, "scripts", "export_openapi.py"), "--out", jsonOut]);
  const bin = path.join(web, "node_modules", ".bin", "openapi-typescript");
  run(bin, [jsonOut, "--output", tsOut, "--alphabetize"]);
}

const mode = process.argv[2];
if (mode === "generate") {
  generate(schemaJson, schemaTs);
  console.log("api: wrote openapi.json and lib/api/schema.d.ts");
} else if (mode === "check") {
  const tmp = mkdtempSync(path.join(tmpdir(), "lumen-api-"));
  try {
    const json = path.join(tmp, "openapi.json");
    const ts = path.join(tmp, "schema.d.ts");
    generate(json, ts);
    const stale = [
      [schemaJson, json],
      [schemaTs, ts],
    ].filter(([have, fresh]) => !existsSync(have) || readFileSync(have, "utf8") !== readFileSync(fresh, "utf8"));
    if (stale.length) {
      for (const [have] of stale) console.error(`api: ${path.relative(root, have)} is out of date`);
      console.error("api: run `npm run api:generate` in web/ and commit the result");
      process.exit(1);
    }
    console.log("api: openapi.json and lib/api/schema.d.ts are current");
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
} else {
  console.error("usage: node scripts/api.mjs generate|check");
  process.exit(2);
}
