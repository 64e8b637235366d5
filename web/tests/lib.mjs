// Helpers of the browser suite: the Lumen server it starts, TOTP codes, axe, screenshots.
import { spawn, execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const ROOT = path.resolve(WEB, "..");
export const SCREENSHOTS = path.join(WEB, "test-results", "screenshots");

// Three NIHSeniorHealth documents of MedQuAD: glaucoma, gum disease, high blood pressure.
const MEDQUAD_FILES = ["0000027.xml", "0000029.xml", "0000036.xml"];

export function lumenBin() {
  if (process.env.LUMEN_BIN) return process.env.LUMEN_BIN;
  const venv = path.join(ROOT, ".venv", "bin", "lumen");
  return existsSync(venv) ? venv : "lumen";
}

function sourcesDir() {
  if (process.env.LUMEN_PATHS__SOURCES_DIR) return process.env.LUMEN_PATHS__SOURCES_DIR;
  return path.join(ROOT, "..", "shared", "data");
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function baseEnv(dataDir) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("LUMEN_") || key === "LUMEN_PATHS__SOURCES_DIR") env[key] = value;
  }
  return {
    ...env,
    LUMEN_PATHS__DATA_DIR: dataDir,
    LUMEN_API__WEB_DIR: path.join(WEB, "out"),
    // The suite makes many requests from one address; the limit itself is tested elsewhere.
    LUMEN_API__RATE_LIMIT_PER_IP: "100000",
    HF_HUB_OFFLINE: "1",
    TRANSFORMERS_OFFLINE: "1",
    PYTHONUNBUFFERED: "1",
  };
}

/** A data folder with a tiny index and an admin, then `lumen serve` on a free port. */
export async function startLumen({ adminEmail, adminPassword, log }) {
  const tmp = mkdtempSync(path.join(tmpdir(), "lumen-web-e2e-"));
  const dataDir = path.join(tmp, "data");
  mkdirSync(dataDir, { recursive: true });
  // Reuse the machine's ONNX export of the embedding model, as the Python tests do.
  const modelCache = process.env.LUMEN_TEST_MODEL_CACHE || path.join(homedir(), ".cache", "lumen-test");
  mkdirSync(modelCache, { recursive: true });
  symlinkSync(modelCache, path.join(dataDir, "models"), "dir");

  const shared = path.join(sourcesDir(), "medquad", "7_SeniorHealth_QA");
  const corpus = path.join(tmp, "medquad", "7_SeniorHealth_QA");
  mkdirSync(corpus, { recursive: true });
  for (const name of MEDQUAD_FILES) {
    const source = path.join(shared, name);
    if (!existsSync(source)) throw new Error(`MedQuAD file missing: ${source} (set LUMEN_PATHS__SOURCES_DIR)`);
    copyFileSync(source, path.join(corpus, name));
  }
  const env = baseEnv(dataDir);
  const bin = lumenBin();
  log(`ingesting ${MEDQUAD_FILES.length} MedQuAD documents into ${dataDir}`);
  try {
    execFileSync(bin, ["ingest", "medquad", "--path", path.join(tmp, "medquad")], { env, stdio: ["ignore", "ignore", "pipe"] });
    execFileSync(bin, ["users", "create", adminEmail, "--role", "admin", "--password-env", "E2E_ADMIN_PASSWORD"], {
      env: { ...env, E2E_ADMIN_PASSWORD: adminPassword },
      stdio: ["ignore", "ignore", "pipe"],
    });
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }

  const port = await freePort();
  const logFile = path.join(tmp, "serve.log");
  const out = openSync(logFile, "a");
  const server = spawn(bin, ["serve", "--host", "127.0.0.1", "--port", String(port), "--insecure-cookies"], {
    env,
    stdio: ["ignore", out, out],
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (server.exitCode !== null) {
      const text = readFileSync(logFile, "utf8");
      rmSync(tmp, { recursive: true, force: true });
      throw new Error(`lumen serve exited (${server.exitCode}):\n${text}`);
    }
    try {
      const response = await fetch(`${base}/readyz`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      const text = readFileSync(logFile, "utf8");
      server.kill("SIGKILL");
      rmSync(tmp, { recursive: true, force: true });
      throw new Error(`lumen serve did not become ready:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  log(`lumen serve is ready on ${base}`);
  return {
    base,
    tmp,
    logTail: () => readFileSync(logFile, "utf8").split("\n").slice(-60).join("\n"),
    stop: async () => {
      if (server.exitCode !== null) return;
      server.kill("SIGTERM");
      await new Promise((resolve) => {
        const timer = setTimeout(() => {
          server.kill("SIGKILL");
          resolve();
        }, 10_000);
        server.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

function base32(secret) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of secret.replace(/[\s=]/g, "").toUpperCase()) {
    const value = alphabet.indexOf(ch);
    if (value < 0) throw new Error(`not base32: ${ch}`);
    bits += value.toString(2).padStart(5, "0");
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The RFC 6238 code (SHA-1, 6 digits, 30 s) for a step (default: the current one). */
export function totp(secret, step = Math.floor(Date.now() / 1000 / 30)) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, "0");
}

const axeSource = readFileSync(path.join(WEB, "node_modules", "axe-core", "axe.min.js"), "utf8");

/** axe-core's serious and critical violations on the page (WCAG 2.x A/AA and best practice). */
export async function axeViolations(page) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const result = await axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
      resultTypes: ["violations"],
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
    }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

export async function screenshot(page, name, { top = true } = {}) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  if (top) await page.evaluate(() => window.scrollTo(0, 0));
  const { width, height } = page.viewportSize();
  const file = path.join(SCREENSHOTS, `${name}-${width}x${height}.png`);
  await page.screenshot({ path: file });
  return path.relative(ROOT, file);
}
