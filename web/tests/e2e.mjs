// Lumen's browser suite: Debian's Chromium, driven by playwright-core, against a real
// `lumen serve` on a temporary data folder with a tiny MedQuAD index.
//
//   node web/tests/e2e.mjs        (scripts/web.sh test builds the app first)
//
// Each step prints a line; the last line is "N passed, N failed". Screenshots go to
// web/test-results/screenshots/<name>-<width>x<height>.png.
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { chromium } from "playwright-core";
import { axeViolations, screenshot, startLumen, totp } from "./lib.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const DESKTOP = { width: 1440, height: 900 };
const MOBILE = { width: 390, height: 844 };
const PASSWORD = "correct horse battery staple 42";
const ADMIN = { email: "admin@example.org", password: "steward of a long passphrase 7" };
const run = Date.now().toString(36);
const U1 = { email: `patient-${run}@example.org`, password: PASSWORD };
const U2 = { email: `pharma-${run}@example.org`, password: PASSWORD };
const U3 = { email: `mobile-${run}@example.org`, password: PASSWORD };
const QUESTION = "What are the symptoms of high blood pressure?";
const ANSWER_TIMEOUT = 300_000;

let passed = 0;
let failed = 0;
const shots = [];
const log = (line) => console.log(line);

async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    passed += 1;
    log(`  ok  ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    failed += 1;
    log(`  FAIL ${name}\n${String(error && error.stack ? error.stack : error).replace(/^/gm, "       ")}`);
    throw error;
  }
}

/** A page that records CSP violations, script errors and dialogs (none may happen). */
async function newPage(browser, viewport, problems) {
  const context = await browser.newContext({ viewport, acceptDownloads: true, serviceWorkers: "allow" });
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  const page = await context.newPage();
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("dialog", async (dialog) => {
    problems.push(`dialog opened: ${dialog.type()} ${dialog.message()}`);
    await dialog.dismiss();
  });
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy|Refused to/i.test(message.text())) {
      problems.push(`console: ${message.text()}`);
    }
  });
  return page;
}

async function checkPage(page, name, { axe = true } = {}) {
  const violations = await page.evaluate(() => window.__cspViolations ?? []);
  assert.deepEqual(violations, [], `CSP violations on ${name}`);
  if (axe) {
    const found = await axeViolations(page);
    assert.deepEqual(found, [], `axe found serious or critical violations on ${name}: ${JSON.stringify(found, null, 2)}`);
  }
}

async function shot(page, name, options) {
  shots.push(await screenshot(page, name, options));
}

async function signIn(page, base, user) {
  await page.goto(`${base}/login`);
  await page.getByLabel("E-mail").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function ask(page, question) {
  const box = page.getByLabel("Your question");
  await box.fill(question);
  await box.press("Enter");
}

/** Keep a copy of each answer stream the page reads (the page still reads it as it arrives). */
async function recordAnswerStreams(page) {
  await page.evaluate(() => {
    const original = window.fetch;
    window.__answerStreams = [];
    window.fetch = async (input, init) => {
      const response = await original(input, init);
      const url = new URL(typeof input === "string" ? input : input.url, window.location.href);
      if (init?.method !== "POST" || !/\/conversations\/[^/]+\/messages$/.test(url.pathname) || !response.body) {
        return response;
      }
      const [copy, page] = response.body.tee();
      const record = { text: "", done: false };
      window.__answerStreams.push(record);
      void (async () => {
        const reader = copy.getReader();
        const decoder = new TextDecoder();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          record.text += decoder.decode(value, { stream: true });
        }
        record.done = true;
      })();
      return new Response(page, { status: response.status, statusText: response.statusText, headers: response.headers });
    };
  });
}

/** The event names of the last answer stream, once it has ended. */
async function answerStreamEvents(page) {
  await page.waitForFunction(() => window.__answerStreams.at(-1)?.done === true);
  const text = await page.evaluate(() => window.__answerStreams.at(-1).text);
  return [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
}

function lastTurn(page) {
  return page.getByTestId("turn").last();
}

async function main() {
  const problems = [];
  const server = await startLumen({ adminEmail: ADMIN.email, adminPassword: ADMIN.password, log });
  const base = server.base;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
  let conversationUrl = "";
  let totpSecret = "";
  let recoveryCodes = [];
  try {
    const page = await newPage(browser, DESKTOP, problems);

    await step("the server sends a strict CSP with the pages and locks the API down", async () => {
      const response = await page.request.get(`${base}/login`);
      const csp = response.headers()["content-security-policy"] ?? "";
      assert.match(csp, /script-src 'self'( 'sha256-[A-Za-z0-9+/=]+')+;/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.match(csp, /frame-ancestors 'none'/);
      const api = await page.request.get(`${base}/api/v1/me`);
      assert.equal(api.status(), 401);
      assert.equal((await api.json()).error.code, "unauthenticated");
      const manifest = await page.request.get(`${base}/manifest.webmanifest`);
      assert.equal(manifest.status(), 200);
      assert.equal((await manifest.json()).start_url, "/chat");
    });

    await step("sign up (accessible form) and land in the chat", async () => {
      await page.goto(`${base}/signup`);
      await page.getByRole("heading", { name: "Create your Lumen account" }).waitFor();
      await checkPage(page, "sign-up");
      await shot(page, "signup");
      await page.getByLabel("E-mail").fill(U1.email);
      await page.getByLabel("Password", { exact: true }).fill("too short");
      await page.getByRole("button", { name: "Create account" }).click();
      await page.getByText("Use at least 15 characters; a few random words work well.").waitFor();
      await page.getByLabel("Password", { exact: true }).fill(U1.password);
      await page.getByRole("button", { name: "Create account" }).click();
      await page.waitForURL(`${base}/chat`);
      await page.getByRole("heading", { name: "Ask Lumen" }).waitFor();
      await checkPage(page, "chat (empty)");
      const storage = await page.evaluate(() => ({ local: window.localStorage.length, cookie: document.cookie }));
      assert.equal(storage.local, 0, "nothing may be kept in localStorage");
      assert.doesNotMatch(storage.cookie, /lumen_session/, "the session cookie must be httpOnly");
      assert.match(storage.cookie, /lumen_csrf=/);
    });

    await step("a state-changing request without the CSRF header is refused", async () => {
      const status = await page.evaluate(async () => {
        const r = await fetch("/api/v1/conversations", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: "{}",
        });
        return r.status;
      });
      assert.equal(status, 403);
    });

    await step("ask: the draft streams in, then the verified answer with its sources", async () => {
      await recordAnswerStreams(page);
      await ask(page, QUESTION);
      const turn = lastTurn(page);
      await turn.getByTestId("draft").waitFor({ timeout: 30_000 });
      await turn.getByText("Drafting… not yet checked against the sources").waitFor();
      await turn.getByTestId("answer").waitFor({ timeout: ANSWER_TIMEOUT });
      assert.equal(await turn.getByTestId("draft").count(), 0, "the draft is replaced by the answer");
      // The model's tokens arrive before the verified answer. Read from the stream the page
      // received: on a loaded machine the answer budget can cut the draft to a token or two,
      // which the page may never paint (React renders them with the final answer).
      const events = await answerStreamEvents(page);
      assert.ok(events.includes("token"), `the draft streams in (events: ${events.join(" ")})`);
      assert.ok(events.indexOf("token") < events.indexOf("final"), "tokens come before the verified answer");
      const mode = await turn.getByTestId("answer").getAttribute("data-mode");
      assert.ok(["generated", "extractive"].includes(mode), `a cited answer, not ${mode}`);
      conversationUrl = page.url();
      assert.match(conversationUrl, /\/chat\?c=[0-9a-f-]+$/);
      const sources = turn.getByTestId("sources");
      await sources.getByRole("heading", { name: /Sources \(\d+\)/ }).waitFor();
      const first = sources.locator("li").first();
      assert.match(await first.locator(".source-title").innerText(), /High Blood Pressure/);
      assert.match(await first.locator(".source-meta").innerText(), /medquad · knowledge/);
      assert.match(await first.getByRole("link").getAttribute("href"), /^https?:\/\/nihseniorhealth\.gov\//);
      assert.ok((await first.locator(".snippet").innerText()).length > 10, "the supporting snippet is shown");
      assert.match(await first.locator(".source-supports").innerText(), /Supports sentences? \d/);
      const marks = turn.locator("a.cite-mark");
      assert.ok((await marks.count()) >= 1, "sentences carry citation marks");
      assert.equal(await page.getByLabel("Your question").inputValue(), "", "the box is emptied once the question is taken");
    });

    await step("the disclaimer stays on screen", async () => {
      for (const y of [0, 100_000]) {
        await page.evaluate((top) => window.scrollTo(0, top), y);
        const box = await page.getByTestId("disclaimer").boundingBox();
        assert.ok(box && box.y >= 0 && box.y + box.height <= DESKTOP.height, "disclaimer in the viewport");
      }
      await page.getByTestId("answer").last().locator(".disclaimer-inline").waitFor();
    });

    await step("thumbs up with a comment", async () => {
      const turn = lastTurn(page);
      await turn.getByTestId("thumbs-up").click();
      assert.equal(await turn.getByTestId("thumbs-up").getAttribute("aria-pressed"), "true");
      await turn.getByLabel("Comment (optional)").fill("Clear, and every sentence is cited.");
      await turn.getByRole("button", { name: "Send feedback" }).click();
      await turn.getByText("Thank you: your feedback was saved.").waitFor();
      await checkPage(page, "chat with an answer");
      await page.evaluate(() => window.scrollTo(0, 0));
      await shot(page, "chat-answer");
    });

    await step("a rate limit shows Retry-After and keeps the question in the box", async () => {
      const route = "**/api/v1/conversations/*/messages";
      await page.route(route, (r) =>
        r.fulfill({
          status: 429,
          headers: { "Content-Type": "application/json", "Retry-After": "7" },
          body: JSON.stringify({ error: { status: 429, code: "rate_limited", message: "too many questions; slow down", fields: [] } }),
        }),
      );
      await ask(page, "Can high blood pressure be cured?");
      const notice = page.locator('[data-testid="error-notice"][data-kind="rate"]');
      await notice.waitFor();
      assert.match(await notice.getByTestId("retry-after").innerText(), /try again in [1-7] s/);
      assert.ok(await notice.getByRole("button", { name: "Try again" }).isDisabled(), "retry waits for Retry-After");
      assert.equal(await page.getByLabel("Your question").inputValue(), "Can high blood pressure be cured?");
      await page.unroute(route);
    });

    await step("a network failure offers a retry and keeps the question in the box", async () => {
      const route = "**/api/v1/conversations/*/messages";
      await page.route(route, (r) => r.abort("internetdisconnected"));
      await page.getByRole("button", { name: "Ask", exact: true }).click();
      const notice = page.locator('[data-testid="error-notice"][data-kind="network"]');
      await notice.waitFor();
      await notice.getByText("Lumen can't be reached").waitFor();
      assert.equal(await page.getByLabel("Your question").inputValue(), "Can high blood pressure be cured?");
      assert.ok(await notice.getByRole("button", { name: "Try again" }).isEnabled());
      await page.unroute(route);
    });

    await step("crafted HTML and javascript: links in an answer execute nothing", async () => {
      const route = "**/api/v1/conversations/*/messages";
      const cited = "https://medlineplus.gov/highbloodpressure.html";
      const final = {
        id: "crafted-message",
        conversation_id: "crafted",
        question: "crafted",
        status: "answered",
        collections: ["knowledge"],
        used_profile: false,
        cached: false,
        error: null,
        created_at: new Date().toISOString(),
        answer: {
          mode: "generated",
          abstained: false,
          disclaimer: "Crafted disclaimer.",
          answer: "",
          sentences: [
            { text: 'Look <img src=x onerror="window.__pwned=1"> here.', citations: [1] },
            {
              text: `Click [this](javascript:window.__pwned=2) or [that](https://attacker.example/x) or [the cited page](${cited}).`,
              citations: [1],
            },
            { text: '<script>window.__pwned=3</script><a href="javascript:window.__pwned=4">raw link</a> **bold**', citations: [2] },
            { text: "[sneaky](JaVaScRiPt:window.__pwned=7) [data](data:text/html,<script>window.__pwned=8</script>)", citations: [] },
          ],
          citations: [
            { n: 1, title: '<img src=x onerror="window.__pwned=5">', url: cited, source: "medquad", collection: "knowledge", chunk_id: "c1", snippet: '<b onmouseover="window.__pwned=9">snippet</b>', score: 1, supports: [0, 1] },
            { n: 2, title: "Bad link", url: "javascript:window.__pwned=6", source: "x", collection: "knowledge", chunk_id: "c2", snippet: "s", score: 1, supports: [2] },
          ],
          safety: {},
          searched_for: 'glaucoma <img src=x onerror="window.__pwned=11">',
        },
      };
      const sse =
        `event: message\ndata: ${JSON.stringify({ id: "crafted-message", status: "pending" })}\n\n` +
        `event: token\ndata: ${JSON.stringify({ text: '<img src=x onerror="window.__pwned=10">' })}\n\n` +
        `event: final\ndata: ${JSON.stringify(final)}\n\n`;
      await page.route(route, (r) => r.fulfill({ status: 200, headers: { "Content-Type": "text/event-stream" }, body: sse }));
      await ask(page, "Show me something crafted");
      const answer = lastTurn(page).getByTestId("answer");
      await answer.waitFor();
      await page.unroute(route);
      await answer.getByText('Look <img src=x onerror="window.__pwned=1"> here.').waitFor();
      await answer.getByText("<script>window.__pwned=3</script>", { exact: false }).waitFor();
      assert.match(await answer.getByTestId("searched-for").innerText(), /^Searched for: \W?glaucoma <img src=x onerror="window\.__pwned=11">/);
      assert.equal(await answer.locator("img, script, b[onmouseover]").count(), 0, "no element from the answer's text");
      const hrefs = await answer.locator("a").evaluateAll((links) => links.map((a) => a.getAttribute("href")));
      for (const href of hrefs) {
        assert.ok(href === cited || href.startsWith("#cite-"), `unexpected link ${href}`);
      }
      assert.ok(hrefs.includes(cited), "a link to a cited source is kept");
      const second = answer.locator('[data-sentence="2"]');
      assert.match(await second.innerText(), /^Click this or that or the cited page\./);
      assert.equal(await answer.getByRole("link", { name: "that" }).count(), 0, "a link to an uncited URL is text");
      assert.equal(await answer.getByRole("link", { name: "this" }).count(), 0, "a javascript: link is text");
      assert.equal(await answer.getByRole("link", { name: "sneaky" }).count(), 0, "a JaVaScRiPt: link is text");
      assert.equal(await answer.getByRole("link", { name: "data" }).count(), 0, "a data: link is text");
      assert.equal(await answer.getByRole("link", { name: /Bad link/ }).count(), 0, "a javascript: source URL gets no link");
      for (const n of ["1", "2", "3", "4"]) await answer.locator(`[data-sentence="${n}"]`).click();
      await answer.locator(".snippet").first().hover();
      await page.waitForTimeout(300);
      const pwned = await page.evaluate(() => window.__pwned);
      assert.equal(pwned, undefined, "no injected script ran");
      assert.deepEqual(problems, [], "no dialog, script error or CSP report");
    });

    await step("the conversation history: list, search, rename, open", async () => {
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "History" }).click();
      await page.getByRole("heading", { name: "Conversation history" }).waitFor();
      const items = page.getByTestId("history-item");
      await items.first().waitFor();
      assert.equal(await items.count(), 1);
      assert.match(await items.first().locator(".history-title").innerText(), /high blood pressure/i);
      await page.getByLabel("Search titles").fill("no such title");
      await page.getByRole("button", { name: "Search" }).click();
      await page.getByText("No conversation title contains “no such title”.").waitFor();
      await page.getByLabel("Search titles").fill("BLOOD");
      await page.getByRole("button", { name: "Search" }).click();
      await page.getByText("1 conversation matching “BLOOD”.").waitFor();
      await checkPage(page, "history");
      await shot(page, "history");
      await items.first().getByRole("button", { name: /^Rename/ }).click();
      await page.getByLabel("New title").fill("Blood pressure questions");
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByRole("link", { name: "Blood pressure questions" }).click();
      await page.waitForURL(conversationUrl);
      await page.getByRole("heading", { name: "Blood pressure questions" }).waitFor();
      const turns = page.getByTestId("turn");
      await turns.first().getByTestId("answer").waitFor();
      assert.match(await turns.first().locator(".question-text").innerText(), /symptoms of high blood pressure/);
      assert.ok((await turns.first().getByTestId("sources").locator("li").count()) >= 1);
    });

    await step("the patient profile editor", async () => {
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Profile" }).click();
      await page.getByRole("heading", { name: "Your health profile" }).waitFor();
      await page.getByLabel("Whose profile").fill("Me");
      await page.getByLabel("Year of birth").fill("1950");
      await page.getByLabel("Conditions").fill("hypertension\nglaucoma");
      await page.getByLabel("Medications").fill("lisinopril 10 mg");
      await page.getByRole("button", { name: "Create profile" }).click();
      await page.getByText("Profile “Me” saved.").waitFor();
      await page.getByRole("button", { name: "Save changes" }).waitFor();
      await page.getByLabel("Allergies").fill("penicillin");
      assert.equal(await page.getByText("Profile “Me” saved.").count(), 0, "an edit clears the saved note");
      await Promise.all([
        page.waitForResponse((r) => r.request().method() === "PATCH" && r.url().includes("/api/v1/profiles/")),
        page.getByRole("button", { name: "Save changes" }).click(),
      ]);
      await page.getByText("Profile “Me” saved.").waitFor();
      await page.reload();
      await page.getByLabel("Conditions").waitFor();
      assert.equal(await page.getByLabel("Conditions").inputValue(), "hypertension\nglaucoma");
      assert.equal(await page.getByLabel("Allergies").inputValue(), "penicillin");
      await checkPage(page, "profile");
      await shot(page, "profile");
      await page.goto(`${base}/chat`);
      await page.getByLabel("Take my profile into account").waitFor();
      assert.equal(await page.getByRole("group", { name: "Search in" }).count(), 0, "patients search the knowledge collection only");
    });

    await step("an ended session sends you to sign in and keeps your question", async () => {
      await page.goto(conversationUrl);
      await page.getByTestId("turn").first().waitFor();
      await page.context().clearCookies();
      await ask(page, "Is salt bad for blood pressure?");
      await page.waitForURL(/\/login\?next=.*expired=1/);
      await page.getByText("Your session has ended. Sign in again to carry on where you were.").waitFor();
      await page.getByLabel("E-mail").fill(U1.email);
      await page.getByLabel("Password").fill(U1.password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(conversationUrl);
      await page.getByTestId("turn").first().waitFor();
      assert.equal(await page.getByLabel("Your question").inputValue(), "Is salt bad for blood pressure?");
      await page.getByLabel("Your question").fill("");
    });

    await step("settings: sessions, export my data", async () => {
      await page.goto(`${base}/settings`);
      await page.getByRole("heading", { name: "Account settings" }).waitFor();
      await page.getByTestId("sessions").getByText("(this browser)").waitFor();
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export").click()]);
      assert.equal(download.suggestedFilename(), "lumen-export.json");
      const file = await download.path();
      const text = readFileSync(file, "utf8");
      JSON.parse(text);
      assert.ok(text.includes(U1.email), "the export holds the account");
      assert.ok(text.includes("symptoms of high blood pressure"), "the export holds the conversations");
      assert.ok(text.includes("penicillin"), "the export holds the profile");
      await page.getByText("Your data was downloaded as lumen-export.json.").waitFor();
      await checkPage(page, "settings");
      await shot(page, "settings");
    });

    await step("settings: an API key is shown once, works on /v1 and stops when revoked", async () => {
      await page.getByLabel("Name", { exact: true }).fill("e2e client");
      await page.getByLabel("Expires").selectOption("30");
      await page.getByRole("button", { name: "Create key" }).click();
      const secret = (await page.getByTestId("new-api-key-secret").innerText()).trim();
      assert.match(secret, /^lmn_[A-Za-z0-9_-]{40,}$/);
      await checkPage(page, "settings (new API key)");
      const keys = page.getByTestId("api-keys");
      await keys.getByText("e2e client").waitFor();
      assert.ok((await keys.innerText()).includes(`${secret.slice(0, 12)}…`), "the prefix is listed");
      const models = await fetch(`${base}/v1/models`, { headers: { Authorization: `Bearer ${secret}` } });
      assert.equal(models.status, 200);
      assert.deepEqual((await models.json()).data.map((m) => m.id), ["lumen"]);
      await page.getByRole("button", { name: "I have copied it" }).click();
      assert.equal(await page.getByTestId("new-api-key").count(), 0, "the secret is gone from the page");
      await keys.getByRole("button", { name: "Revoke" }).click();
      await keys.getByText("(revoked)").waitFor();
      const refused = await fetch(`${base}/v1/models`, { headers: { Authorization: `Bearer ${secret}` } });
      assert.equal(refused.status, 401);
      assert.equal((await refused.json()).error.code, "invalid_api_key");
    });

    await step("two-step verification: set up, sign in with a code, then with a recovery code", async () => {
      await page.getByRole("button", { name: "Set up two-step verification" }).click();
      totpSecret = (await page.getByTestId("totp-secret").innerText()).replace(/\s/g, "");
      assert.match(await page.getByTestId("totp-uri").inputValue(), /^otpauth:\/\/totp\/.*secret=/);
      await checkPage(page, "settings (2FA set-up)");
      await page.getByLabel("The six-digit code your app shows").fill(totp(totpSecret));
      const twofa = page.getByRole("region", { name: "Two-step verification" });
      await twofa.getByLabel("Password (to confirm)").fill(U1.password);
      await page.getByRole("button", { name: "Turn on" }).click();
      const codes = page.getByTestId("recovery-codes");
      await codes.waitFor();
      recoveryCodes = await codes.locator("code").allInnerTexts();
      assert.ok(recoveryCodes.length >= 5, "recovery codes are shown");
      await page.getByTestId("twofa-status").getByText("on").waitFor();
      await page.getByRole("button", { name: "I have saved them" }).click();

      await page.getByRole("button", { name: "Sign out", exact: true }).click();
      await page.waitForURL(/\/login\?signedout=1/);
      await signIn(page, base, U1);
      await page.getByRole("heading", { name: "Two-step verification" }).waitFor();
      await checkPage(page, "sign-in, code step");
      await shot(page, "login-totp");
      await page.getByLabel("Code from your authenticator app").fill("000000" === totp(totpSecret) ? "111111" : "000000");
      await page.getByRole("button", { name: "Verify" }).click();
      await page.getByText("Sign-in failed").waitFor();
      // the next step's code: never the one just used, and inside the accepted window
      await page.getByLabel("Code from your authenticator app").fill(totp(totpSecret, Math.floor(Date.now() / 30_000) + 1));
      await page.getByRole("button", { name: "Verify" }).click();
      await page.waitForURL(`${base}/chat`);

      await page.getByRole("button", { name: "Sign out", exact: true }).click();
      await page.waitForURL(/\/login/);
      await signIn(page, base, U1);
      await page.getByRole("button", { name: "Use a recovery code instead" }).click();
      await page.getByLabel("Recovery code").fill(recoveryCodes[0]);
      await page.getByRole("button", { name: "Verify" }).click();
      await page.waitForURL(`${base}/chat`);
    });

    // Another account, promoted to pharma by the admin below.
    await step("a second account signs up", async () => {
      const other = await newPage(browser, DESKTOP, problems);
      await other.goto(`${base}/signup`);
      await other.getByLabel("E-mail").fill(U2.email);
      await other.getByLabel("Password", { exact: true }).fill(U2.password);
      await other.getByRole("button", { name: "Create account" }).click();
      await other.waitForURL(`${base}/chat`);
      await other.context().close();
    });

    await step("admin: users and roles, audit log verification, index, feedback", async () => {
      const admin = await newPage(browser, DESKTOP, problems);
      await signIn(admin, base, ADMIN);
      await admin.waitForURL(`${base}/chat`);
      await admin.getByRole("group", { name: "Search in" }).waitFor();
      await admin.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).click();
      await admin.getByRole("heading", { name: "Users and roles" }).waitFor();
      const row = admin.getByTestId("user-row").filter({ hasText: U2.email });
      await row.getByLabel(`Role of ${U2.email}`).selectOption("pharma");
      await row.getByRole("button", { name: `Save role of ${U2.email}` }).click();
      await admin.getByText(`Role of ${U2.email} changed.`).waitFor();
      await checkPage(admin, "admin users");
      await shot(admin, "admin-users");

      await admin.getByRole("link", { name: "Audit log" }).click();
      await admin.getByRole("heading", { name: "Audit log" }).waitFor();
      await admin.locator("tbody tr").first().waitFor();
      await admin.getByRole("button", { name: "Verify the hash chain" }).click();
      await admin.getByTestId("audit-verify").getByText(/The audit chain is intact: \d+ rows checked\./).waitFor();
      await admin.getByLabel("Action").fill("feedback.create");
      await admin.getByRole("button", { name: "Filter" }).click();
      // the table is replaced once the filtered page arrives
      await admin.waitForFunction(() => {
        const cells = [...document.querySelectorAll("tbody tr td:nth-child(3)")];
        return cells.length > 0 && cells.every((td) => td.textContent.trim() === "feedback.create");
      });
      await checkPage(admin, "admin audit");
      await shot(admin, "admin-audit");

      await admin.getByRole("link", { name: "Index" }).click();
      const stats = admin.getByTestId("index-stats");
      await stats.waitFor();
      const knowledge = stats.locator("tr", { hasText: "knowledge" });
      assert.match(await knowledge.innerText(), /knowledge\s+3\s+\d+\s+medquad: \d+/);
      await checkPage(admin, "admin index");

      await admin.getByRole("link", { name: "Feedback" }).click();
      await admin.getByTestId("feedback-list").getByText("Clear, and every sentence is cited.").waitFor();
      await checkPage(admin, "admin feedback");
      await shot(admin, "admin-feedback");
      await admin.context().close();
    });

    await step("admin: upload a document, watch it being indexed, then delete it", async () => {
      const admin = await newPage(browser, DESKTOP, problems);
      await signIn(admin, base, ADMIN);
      await admin.waitForURL(`${base}/chat`);
      await admin.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Documents" }).click();
      await admin.getByRole("heading", { name: "Upload" }).waitFor();
      await admin.getByLabel("Collection").fill("e2e-uploads");
      await admin.getByLabel("Files").setInputFiles({
        name: "shingles.md",
        mimeType: "text/markdown",
        buffer: Buffer.from("# Shingles\n\nShingles is a painful rash caused by the chickenpox virus.\n"),
      });
      await admin.getByRole("button", { name: "Upload" }).click();
      await admin.getByTestId("upload-job").getByText("indexed").waitFor({ timeout: 120000 });
      const row = admin.getByTestId("documents").locator("tr", { hasText: "shingles.md" });
      await row.getByText("indexed").waitFor();
      await checkPage(admin, "documents");
      await shot(admin, "documents");
      await row.getByRole("button", { name: "Delete shingles.md" }).click();
      await admin.getByText("No uploaded documents yet.").waitFor();
      await admin.context().close();
    });

    await step("pharma users choose the collections to search", async () => {
      const pharma = await newPage(browser, DESKTOP, problems);
      await signIn(pharma, base, U2);
      await pharma.waitForURL(`${base}/chat`);
      const group = pharma.getByRole("group", { name: "Search in" });
      await group.waitFor();
      for (const label of ["Medical knowledge", "Drug labels", "Regulatory documents"]) {
        await group.getByLabel(label).waitFor();
      }
      assert.ok(await group.getByLabel("Medical knowledge").isChecked());
      await group.getByLabel("Drug labels").check();
      await checkPage(pharma, "chat (pharma)");
      await pharma.context().close();
    });

    await step("delete the account", async () => {
      await page.goto(`${base}/settings`);
      await page.getByRole("heading", { name: "Delete your account" }).waitFor();
      const zone = page.locator("section.danger-zone");
      await zone.getByLabel("Password (to confirm)").fill("wrong password entirely");
      await zone.getByLabel("I understand that this cannot be undone").check();
      await zone.getByRole("button", { name: "Delete my account" }).click();
      await zone.getByText("the password is wrong").first().waitFor();
      await zone.getByLabel("Password (to confirm)").fill(U1.password);
      await zone.getByRole("button", { name: "Delete my account" }).click();
      await page.waitForURL(/\/login\?deleted=1/);
      await page.getByText("Your account and everything in it have been deleted.").waitFor();
      await signIn(page, base, U1);
      await page.getByText("Sign-in failed").waitFor();
    });

    await page.context().close();

    const mobile = await newPage(browser, MOBILE, problems);
    await step("mobile: sign-in page, sign up", async () => {
      await mobile.goto(`${base}/login`);
      await mobile.getByRole("heading", { name: "Sign in to Lumen" }).waitFor();
      await checkPage(mobile, "sign-in (mobile)");
      await shot(mobile, "login");
      await mobile.goto(`${base}/signup`);
      await mobile.getByLabel("E-mail").fill(U3.email);
      await mobile.getByLabel("Password", { exact: true }).fill(U3.password);
      await mobile.getByRole("button", { name: "Create account" }).click();
      await mobile.waitForURL(`${base}/chat`);
      await shot(mobile, "chat-empty");
    });

    await step("a crisis message shows the crisis response first, as an alert", async () => {
      await ask(mobile, "I want to kill myself tonight");
      const turn = lastTurn(mobile);
      const alert = turn.getByRole("alert");
      await alert.waitFor({ timeout: ANSWER_TIMEOUT });
      assert.equal(await turn.getByTestId("answer").getAttribute("data-mode"), "crisis");
      const text = await alert.innerText();
      assert.match(text, /988/);
      assert.match(text, /911/);
      const order = await turn.evaluate((li) => {
        const alertBox = li.querySelector('[role="alert"]');
        const question = li.querySelector(".question");
        return {
          alertFirst: li.firstElementChild?.contains(alertBox) ?? false,
          beforeQuestion: Boolean(alertBox && question && alertBox.compareDocumentPosition(question) & Node.DOCUMENT_POSITION_FOLLOWING),
        };
      });
      assert.ok(order.alertFirst, "the crisis response is the first thing in its turn");
      assert.ok(order.beforeQuestion, "the crisis response comes before everything else");
      assert.equal(await turn.getByTestId("draft").count(), 0);
      await alert.scrollIntoViewIfNeeded();
      await checkPage(mobile, "chat (crisis)");
      await turn.evaluate((li) => li.scrollIntoView({ block: "start" }));
      await shot(mobile, "chat-crisis", { top: false });
    });

    await step("an emergency shows the call-911 response first, as an alert", async () => {
      await ask(mobile, "My father has crushing chest pain spreading to his left arm and is sweating");
      const turn = lastTurn(mobile);
      const alert = turn.getByRole("alert");
      await alert.waitFor({ timeout: ANSWER_TIMEOUT });
      assert.equal(await turn.getByTestId("answer").getAttribute("data-mode"), "emergency");
      assert.match(await alert.innerText(), /911/);
    });

    await step("mobile: a cited answer, history and settings fit 390 px", async () => {
      await mobile.getByRole("link", { name: "New conversation" }).click();
      await mobile.waitForURL(`${base}/chat`);
      await ask(mobile, "What is glaucoma?");
      const turn = lastTurn(mobile);
      await turn.getByTestId("answer").waitFor({ timeout: ANSWER_TIMEOUT });
      await turn.getByTestId("sources").waitFor();
      const overflow = await mobile.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `no horizontal scrolling (${overflow} px too wide)`);
      await checkPage(mobile, "chat (mobile)");
      await turn.evaluate((li) => li.scrollIntoView({ block: "start" }));
      await shot(mobile, "chat-answer", { top: false });
      for (const [url, heading, name] of [
        ["/history", "Conversation history", "history"],
        ["/settings", "Account settings", "settings"],
        ["/profile", "Your health profile", "profile"],
      ]) {
        await mobile.goto(`${base}${url}`);
        await mobile.getByRole("heading", { name: heading }).waitFor();
        await mobile.waitForTimeout(200);
        const wide = await mobile.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(wide <= 0, `${url}: no horizontal scrolling (${wide} px too wide)`);
        await checkPage(mobile, `${name} (mobile)`);
        await shot(mobile, name);
      }
    });

    await step("admin pages on a phone", async () => {
      const admin = await newPage(browser, MOBILE, problems);
      await signIn(admin, base, ADMIN);
      await admin.waitForURL(`${base}/chat`);
      await admin.goto(`${base}/admin?tab=audit`);
      await admin.locator("tbody tr").first().waitFor();
      await checkPage(admin, "admin audit (mobile)");
      await shot(admin, "admin-audit");
      await admin.context().close();
    });

    await step("offline: the service worker shows the offline page", async () => {
      await mobile.goto(`${base}/history`);
      await mobile.evaluate(async () => {
        const registration = await navigator.serviceWorker.ready;
        return registration.active?.state;
      });
      await mobile.reload();
      await mobile.getByRole("heading", { name: "Conversation history" }).waitFor();
      await mobile.context().setOffline(true);
      await mobile.goto(`${base}/settings`).catch(() => undefined);
      await mobile.getByRole("heading", { name: "You are offline" }).waitFor();
      await shot(mobile, "offline");
      await mobile.context().setOffline(false);
    });

    await step("no dialog, script error or CSP violation anywhere", async () => {
      assert.deepEqual(problems, []);
    });
    await mobile.context().close();
  } finally {
    await browser.close().catch(() => undefined);
    if (failed) log(`\nlumen serve log (tail):\n${server.logTail()}`);
    await server.stop();
    if (!process.env.E2E_KEEP) rmSync(server.tmp, { recursive: true, force: true });
  }
}

const started = Date.now();
try {
  await main();
} catch (error) {
  if (!failed) {
    failed += 1;
    log(`  FAIL setup\n${String(error && error.stack ? error.stack : error).replace(/^/gm, "       ")}`);
  }
}
if (shots.length) {
  log("\nscreenshots:");
  for (const s of shots) log(`  ${s}`);
}
log(`\nbrowser suite: ${((Date.now() - started) / 1000).toFixed(0)} s`);
log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
