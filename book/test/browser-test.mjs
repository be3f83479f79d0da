// The book's browser test: serve book/build on 127.0.0.1, open it in headless Chromium
// (Debian's, at $CHROMIUM or /usr/bin/chromium; driven by playwright-core, which downloads
// nothing) and check that
//   1. the front page renders (title, heading, no failed request to our server),
//   2. the sidebar links every chapter of book/src/SUMMARY.md,
//   3. the search finds an exercise id and links its page,
//   4. every exercise id named on a week page has its section there (`weekN.day.name` → the
//      element `#name` on weekN/day.html, where the grader's links point),
//   5. every image on the week pages loads (naturalWidth > 0), and there is at least one;
//   6. week 3's training dashboards draw one point per logged step in every chart;
//   7. "Your model, live" loads the char-GPT in WebAssembly: its logits for a prompt are within
//      1e-4 of the native forward pass's, 200 greedy characters typed through the page's
//      controls equal the native greedy output of the same weights, the seed, temperature and
//      top-k change what it writes, the bars and the attention rows are drawn, and the
//      instruction-tuned model answers an instruction. The native side is
//      target/candlecamp/live/native.json (`live greedy`, run by scripts/book.sh test first);
//      the timings of both go to target/candlecamp/live/bench.json.
// Screenshots: the front page to target/candlecamp/book-front.png, the live page to
// target/candlecamp/live/page.png.
// Output: one line per check, then "book-test: N passed, N failed"; exit status 1 on failure.

import { chromium } from "playwright-core";
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const build = path.join(root, "book/build");
const shot = path.join(root, "target/candlecamp/book-front.png");
const started = Date.now();

// ---- what the book should contain, from its sources ----
const summary = fs.readFileSync(path.join(root, "book/src/SUMMARY.md"), "utf8");
const chapters = [...summary.matchAll(/\]\(([^)]+\.md)\)/g)].map((m) => m[1].replace(/^\.\//, "").replace(/\.md$/, ".html"));
const weekPages = chapters.filter((c) => /^week[^/]*\//.test(c));
// An exercise id to search for: the first `weekN.day.name` on the first week page.
const firstWeekSource = fs.readFileSync(path.join(root, "book/src", weekPages[0].replace(/\.html$/, ".md")), "utf8");
const searchId = (firstWeekSource.match(/\bweek\d+\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+\b/) || [])[0];

// ---- a static server on 127.0.0.1 ----
const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml", ".json": "application/json", ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf", ".ico": "image/x-icon", ".wasm": "application/wasm", ".safetensors": "application/octet-stream" };
const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  let file = path.join(build, decodeURIComponent(url.pathname));
  if (!file.startsWith(build)) {
    res.writeHead(403).end();
    return;
  }
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, "index.html");
  fs.readFile(file, (err, data) => {
    if (err) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": types[path.extname(file)] || "application/octet-stream" });
    res.end(data);
  });
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const base = `http://127.0.0.1:${server.address().port}/`;

// ---- the browser ----
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "candlecamp-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic"],
});
const page = context.pages()[0] || (await context.newPage());
const failedRequests = [];
page.on("requestfailed", (r) => r.url().startsWith(base) && failedRequests.push(`${r.url()} (${r.failure()?.errorText})`));
page.on("response", (r) => r.url().startsWith(base) && r.status() >= 400 && failedRequests.push(`${r.url()} (HTTP ${r.status()})`));
const pageErrors = [];
page.on("pageerror", (e) => pageErrors.push(String(e)));

let passed = 0;
let failed = 0;
let skipped = 0;
async function check(name, fn) {
  // BOOK_TEST_ONLY=text runs only the checks whose names contain it (while working on one).
  if (process.env.BOOK_TEST_ONLY && !name.includes(process.env.BOOK_TEST_ONLY)) return;
  const t0 = Date.now();
  try {
    const detail = await fn();
    if (detail && detail.skipped) {
      skipped++;
      console.log(`skip  ${name}: ${detail.skipped}`);
      return;
    }
    passed++;
    console.log(`ok    ${name}${detail ? `: ${detail}` : ""} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL  ${name}: ${e.message || e}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

await check("the front page renders", async () => {
  failedRequests.length = 0;
  await page.goto(base, { waitUntil: "load" });
  const title = await page.title();
  assert(/candlecamp/i.test(title), `title is ${JSON.stringify(title)}`);
  const h1 = (await page.locator("main h1").first().textContent({ timeout: 5000 })) || "";
  assert(/candlecamp/i.test(h1), `first heading is ${JSON.stringify(h1)}`);
  const text = (await page.locator("main").innerText()).length;
  assert(text > 500, `the page has only ${text} characters of text`);
  assert(failedRequests.length === 0, `requests failed: ${failedRequests.join(", ")}`);
  assert(pageErrors.length === 0, `script errors: ${pageErrors.join(", ")}`);
  fs.mkdirSync(path.dirname(shot), { recursive: true });
  await page.screenshot({ path: shot });
  return `"${title}", screenshot ${path.relative(root, shot)}`;
});

await check("the sidebar links every chapter of SUMMARY.md", async () => {
  await page.goto(base, { waitUntil: "load" });
  await page.waitForSelector("#mdbook-sidebar a", { timeout: 5000 });
  const hrefs = await page.$$eval("#mdbook-sidebar a", (as) => as.map((a) => a.href));
  const linked = new Set(hrefs.map((h) => new URL(h).pathname.replace(/^\//, "").split("#")[0]));
  const missing = chapters.filter((c) => !linked.has(c) && !(c === "introduction.html" && linked.has("index.html")));
  assert(missing.length === 0, `not in the sidebar: ${missing.join(", ")}`);
  return `${chapters.length} chapters`;
});

await check(`the search finds ${searchId}`, async () => {
  assert(searchId, "no exercise id on the first week page");
  await page.goto(base, { waitUntil: "load" });
  await page.click("#mdbook-search-toggle");
  // mdBook searches on keyup, once its index (loaded when the search opens) is in: type the id,
  // and type its last character again until results appear.
  await page.fill("#mdbook-searchbar", searchId.slice(0, -1));
  let shown = false;
  for (let i = 0; i < 20 && !shown; i++) {
    await page.press("#mdbook-searchbar", searchId.slice(-1));
    shown = await page.waitForSelector("#mdbook-searchresults li a", { timeout: 500 }).then(() => true, () => false);
    if (!shown) await page.press("#mdbook-searchbar", "Backspace");
  }
  assert(shown, "no search results within 10 s");
  assert((await page.inputValue("#mdbook-searchbar")) === searchId, "the search bar does not hold the id");
  const results = await page.$$eval("#mdbook-searchresults li a", (as) => as.map((a) => a.getAttribute("href")));
  const want = weekPages[0];
  const target = (r) => new URL(r, base).pathname.replace(/^\//, "");
  assert(results.some((r) => target(r) === want), `no result links ${want}: ${results.slice(0, 5).join(", ")}`);
  return `${results.length} result(s), one on ${want}`;
});

await check("every exercise id on a week page has its section (the grader links weekN/day.html#name)", async () => {
  let n = 0;
  const missing = [];
  for (const p of weekPages) {
    const [week, day] = p.replace(/\.html$/, "").split("/");
    const source = fs.readFileSync(path.join(root, "book/src", p.replace(/\.html$/, ".md")), "utf8");
    const names = [...new Set([...source.matchAll(new RegExp(`\\b${week}\\.${day}\\.([A-Za-z0-9_]+)\\b`, "g"))].map((m) => m[1]))];
    if (names.length === 0) continue;
    await page.goto(base + p, { waitUntil: "load" });
    const found = await page.evaluate((ids) => ids.map((id) => !!document.getElementById(id)), names);
    names.forEach((name, i) => (found[i] ? n++ : missing.push(`${p}#${name}`)));
  }
  assert(missing.length === 0, `no such section: ${missing.join(", ")}`);
  assert(n > 0, "no exercise ids on the week pages");
  return `${n} sections`;
});

await check("every image on the week pages loads", async () => {
  let images = 0;
  const broken = [];
  for (const p of weekPages) {
    failedRequests.length = 0;
    await page.goto(base + p, { waitUntil: "load" });
    const imgs = await page.$$eval("main img", (els) => els.map((i) => ({ src: i.getAttribute("src"), ok: i.complete && i.naturalWidth > 0 })));
    // mdBook 0.5 renders each picture twice (the page and its click-to-zoom copy).
    const srcs = new Set(imgs.map((i) => i.src));
    images += srcs.size;
    for (const src of srcs) if (imgs.some((i) => i.src === src && !i.ok)) broken.push(`${p}: ${src} does not load`);
    for (const f of new Set(failedRequests)) broken.push(`${p}: ${f}`);
  }
  assert(broken.length === 0, `broken: ${broken.join(", ")} (run just book-assets before the build)`);
  assert(images > 0, "the week pages show no image at all");
  return `${images} image(s) on ${weekPages.length} week page(s)`;
});

await check("the training dashboard draws a point for every logged step", async () => {
  const pages = ["images/week3/dashboard.html", "images/week3/search_dashboard.html"];
  const seen = [];
  for (const rel of pages) {
    assert(fs.existsSync(path.join(build, rel)), `${rel} is missing (the book's assets step copies week 3's dashboards)`);
    failedRequests.length = 0;
    pageErrors.length = 0;
    await page.goto(base + rel, { waitUntil: "load" });
    const info = await page.evaluate(() => ({
      runs: Object.fromEntries([...document.querySelectorAll("p.runs span[data-run]")].map((s) => [s.dataset.run, parseInt((s.textContent.match(/: (\d+) steps/) || [])[1], 10)])),
      charts: document.querySelectorAll("svg[data-chart]").length,
      lines: [...document.querySelectorAll("svg[data-chart] polyline")].map((p) => ({ chart: p.closest("svg").dataset.chart, run: p.dataset.run, n: p.points.numberOfItems, w: p.getBBox().width })),
    }));
    assert(info.charts >= 4, `${rel}: ${info.charts} charts`);
    const first = Object.keys(info.runs)[0];
    for (const l of info.lines) {
      const want = info.runs[l.chart === "layer_grad_norms" ? first : l.run];
      assert(Number.isFinite(want) && l.n === want, `${rel}: a ${l.chart} line of ${l.run} has ${l.n} points, the run logged ${want} steps`);
      assert(l.w > 0, `${rel}: a ${l.chart} line of ${l.run} is not drawn`);
    }
    assert(failedRequests.length === 0 && pageErrors.length === 0, `${rel}: ${failedRequests.concat(pageErrors).join(", ")}`);
    seen.push(`${Object.keys(info.runs).length} run(s), ${info.lines.length} lines`);
  }
  return seen.join("; ");
});

await check("Your model, live: the char-GPT in WebAssembly writes what it writes natively", async () => {
  // Without the Rust target or wasm-bindgen-cli (offline), the book is built without the page's
  // model and the page says why; so does this line.
  const built = path.join(build, "live/models.json");
  assert(fs.existsSync(built), "book/build/live/models.json is missing: scripts/wasm.sh did not run");
  const unavailable = JSON.parse(fs.readFileSync(built, "utf8")).unavailable;
  if (unavailable) return { skipped: unavailable };
  const nativeFile = path.join(root, "target/candlecamp/live/native.json");
  assert(fs.existsSync(nativeFile), "target/candlecamp/live/native.json is missing (scripts/book.sh test writes it with `live greedy`)");
  const native = JSON.parse(fs.readFileSync(nativeFile, "utf8"));
  failedRequests.length = 0;
  pageErrors.length = 0;
  await page.goto(base + "week3/live.html", { waitUntil: "load" });
  await page.waitForFunction(() => window.candlecampLive && window.candlecampLive.ready, null, { timeout: 10000 });
  await page.evaluate(() => window.candlecampLive.ready);
  const status = await page.locator("#live-status").textContent();
  assert(/^Ready/.test(status), `the page says: ${status}`);
  const whose = await page.locator("#live-whose").textContent();
  assert(/^(Yours|The instructor's)/.test(whose), `it does not say whose model it is: ${whose}`);

  const logits = await page.evaluate((p) => window.candlecampLive.logits(p), native.prompt);
  assert(logits.length === native.logits.length, `${logits.length} logits in the browser, ${native.logits.length} natively`);
  const worst = Math.max(...logits.map((l, i) => Math.abs(l - native.logits[i])));
  assert(worst <= 1e-4, `the browser's logits differ from the native ones by up to ${worst}`);

  const setRange = (sel, v) => page.$eval(sel, (el, v) => { el.value = String(v); el.dispatchEvent(new Event("input")); }, v);
  const run = async () => {
    await page.click("#live-go");
    const text = await page.evaluate(() => window.candlecampLive.last);
    assert(typeof text === "string", `the generation failed: ${await page.locator("#live-status").textContent()}`);
    return text;
  };
  await page.fill("#live-prompt", native.prompt);
  await setRange("#live-temperature", 0);
  await setRange("#live-n", native.text.length);
  const greedy = await run();
  assert(greedy === native.text, `greedy in the browser wrote ${JSON.stringify(greedy.slice(0, 80))}…, natively ${JSON.stringify(native.text.slice(0, 80))}…`);
  const wasm = await page.evaluate(() => window.candlecampLive.stats.at(-1));

  await setRange("#live-n", 60);
  await setRange("#live-temperature", 1);
  await page.fill("#live-seed", "1");
  const a = await run();
  await page.fill("#live-seed", "2");
  const b = await run();
  await page.fill("#live-seed", "1");
  const a2 = await run();
  assert(a !== b && a === a2, `seed 1, 2, 1 wrote ${JSON.stringify([a, b, a2])}`);
  assert(a !== native.text.slice(0, 60), "sampling at temperature 1 wrote the greedy text");
  await setRange("#live-top-k", 1);
  const k1 = await run();
  assert(k1 === native.text.slice(0, 60), `top-k 1 is not greedy: ${JSON.stringify(k1)}`);
  await setRange("#live-top-k", 0);

  const bars = await page.locator("#live-top .live-bar").count();
  assert(bars === 10, `${bars} bars for the next character`);
  await page.locator("#live-out span").nth(native.prompt.length + 20).click();
  const heads = await page.locator("#live-att .live-head").count();
  const cfg = JSON.parse(fs.readFileSync(path.join(build, "live/chargpt.json"), "utf8")).config;
  assert(heads === cfg.n_layer * cfg.n_head, `${heads} attention rows for ${cfg.n_layer} layers of ${cfg.n_head} heads`);
  const note = await page.locator("#live-att-note").textContent();
  assert(/^Reading/.test(note), `the attention rows are not drawn: ${note}`);
  fs.mkdirSync(path.join(root, "target/candlecamp/live"), { recursive: true });
  const pageShot = path.join(root, "target/candlecamp/live/page.png");
  await page.screenshot({ path: pageShot, fullPage: true });

  let sft = "no instruction-tuned model in book/build/live";
  if ((await page.locator("#live-model option[value=sft]").count()) > 0) {
    await page.selectOption("#live-model", "sft");
    await page.waitForFunction(() => !document.getElementById("live-instruction-row").hidden);
    await page.fill("#live-instruction", "upper: rome");
    await setRange("#live-temperature", 0);
    const answer = await run();
    assert(answer === "ROME", `the tuned model answered "upper: rome" with ${JSON.stringify(answer)}`);
    sft = `"upper: rome" → "${answer}"`;
  }
  assert(failedRequests.length === 0 && pageErrors.length === 0, failedRequests.concat(pageErrors).join(", "));
  // Opened from disk (the README's book/build/index.html), the page says how to read it.
  await page.goto("file://" + path.join(build, "week3/live.html"), { waitUntil: "load" });
  await page.evaluate(() => window.candlecampLive && window.candlecampLive.ready);
  const fromDisk = await page.locator("#live-status").textContent();
  assert(/just serve/.test(fromDisk) && /127\.0\.0\.1:8080\/book\/week3\/live\.html/.test(fromDisk), `opened from a file, the page says: ${fromDisk}`);
  const bench = {
    native: { first_char_ms: native.first_char_ms, chars_per_s: native.chars_per_s },
    wasm: { first_char_ms: wasm.first_char_ms, chars_per_s: wasm.chars_per_s },
    chars: native.text.length,
  };
  fs.writeFileSync(path.join(root, "target/candlecamp/live/bench.json"), JSON.stringify(bench));
  return `logits within ${worst.toExponential(1)}; ${native.text.length} greedy characters equal; ${sft}; ` +
    `first character ${wasm.first_char_ms.toFixed(0)} ms in the browser, ${native.first_char_ms.toFixed(0)} ms natively; ` +
    `${wasm.chars_per_s.toFixed(0)} characters/s in the browser, ${native.chars_per_s.toFixed(0)} natively; screenshot ${path.relative(root, pageShot)}`;
});

await context.close();
server.close();
fs.rmSync(userDataDir, { recursive: true, force: true });
console.log(`book-test: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
process.exit(failed === 0 ? 0 : 1);
