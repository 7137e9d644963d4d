// Lighthouse 12 (mobile, the default form factor) against a running instance (`make run`), on the pages
// issue 17 names: start page, service list, day page, booking form, poll page and results.
//
//   node scripts/lighthouse.mjs http://127.0.0.1:5000 [--cookie 'session=…'] [--poll <slug>] [--only '<page>']
//                               [--json bench/results/lighthouse.json]
//
// The day page and the booking form are found on the running site (the first service, location and day
// with free times); the results page needs live results or an admin session (--cookie). Chromium is
// /usr/bin/chromium unless CHROME_PATH says otherwise. Prints a Markdown table (README, section
// "Accessibility and quality") and exits 1 when a page misses the targets: accessibility 100, best
// practices 100, SEO ≥ 95, performance ≥ 90.
import { writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import lighthouse from "lighthouse";
import * as chromeLauncher from "chrome-launcher";

const args = process.argv.slice(2);
const base = (args.find((a) => !a.startsWith("--") && /^https?:/.test(a)) || "http://127.0.0.1:5000").replace(/\/$/, "");
const option = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const cookie = option("--cookie");
const jsonOut = option("--json");
const TARGETS = { performance: 90, accessibility: 100, "best-practices": 100, seo: 95 };

async function firstMatch(path, pattern) {
  const response = await fetch(base + path, { headers: cookie ? { Cookie: cookie } : {} });
  const match = (await response.text()).match(pattern);
  return match ? match[1] : null;
}

async function finalPath(path) {
  const response = await fetch(base + path, { headers: cookie ? { Cookie: cookie } : {} });
  return new URL(response.url).pathname;
}

async function pages() {
  const service = await firstMatch("/termine/", /href="\/termine\/([^/"]+)\/"/);
  // a service offered at one place skips the place step: its page redirects to that place's page
  const landed = service && await finalPath(`/termine/${service}/`);
  const location = service && (landed.match(new RegExp(`^/termine/${service}/([^/]+)/$`))?.[1]
    ?? await firstMatch(`/termine/${service}/`, new RegExp(`href="/termine/${service}/([^/"]+)/"`)));
  const dayPath = location && await firstMatch(`/termine/${service}/${location}/`,
    new RegExp(`href="(/termine/${service}/${location}/\\d{4}-\\d{2}-\\d{2})"`));
  const formPath = dayPath && await firstMatch(dayPath, /href="(\/termine\/[^"]+\/buchen\?[^"]+)"/);
  const poll = option("--poll") || "spielplatz-am-stadtpark"; // the demo poll (polls/demo.py)
  const all = [
    ["start page", "/"],
    ["service list", "/termine/"],
    ["day page", dayPath],
    ["booking form", formPath && formPath.replaceAll("&amp;", "&")],
    ["poll page", poll && `/beteiligung/${poll}`],
    ["poll results", poll && `/beteiligung/${poll}/ergebnisse`],
  ];
  const only = option("--only");
  return only ? all.filter(([name]) => name === only) : all;
}

const rows = [];
let failed = false;
for (const [name, path] of await pages()) {
  if (!path) { console.error(`${name}: not found on ${base}`); failed = true; continue; }
  // a fresh browser per page: no cache or cookie of one page run changes the next
  const chrome = await chromeLauncher.launch({
    chromePath: process.env.CHROME_PATH || "/usr/bin/chromium",
    chromeFlags: ["--headless=new", "--no-sandbox", "--disable-gpu"],
  });
  try {
    const withCookie = Boolean(cookie) && name === "poll results"; // the public pages as a citizen sees them
    const result = await lighthouse(base + path, {
      port: chrome.port, output: "json", logLevel: "error",
      onlyCategories: Object.keys(TARGETS),
      extraHeaders: withCookie ? { Cookie: cookie } : undefined,
    });
    const lhr = result.lhr;
    if (process.env.LH_DEBUG) { console.error(name, lhr.requestedUrl, lhr.finalDisplayedUrl, Object.keys(lhr.categories), JSON.stringify(lhr.categories.accessibility?.score)); }
    if (lhr.runtimeError) { console.error(`${name}: ${lhr.runtimeError.code} ${lhr.runtimeError.message}`); }
    for (const warning of lhr.runWarnings || []) { console.error(`${name}: ${warning}`); }
    const scores = Object.fromEntries(Object.keys(TARGETS).map((key) => [key, Math.round((lhr.categories[key]?.score ?? 0) * 100)]));
    const misses = Object.entries(TARGETS).filter(([key, min]) => scores[key] < min);
    for (const [key] of misses) {
      const audits = lhr.categories[key].auditRefs.filter((ref) => ref.weight > 0 && (lhr.audits[ref.id].score ?? 1) < 1)
        .map((ref) => `${ref.id} (${lhr.audits[ref.id].displayValue || lhr.audits[ref.id].score})`);
      console.error(`${name} ${key} ${scores[key]}: ${audits.join(", ")}`);
    }
    failed ||= misses.length > 0;
    rows.push({ name, path, ...scores, fcp: lhr.audits["first-contentful-paint"].displayValue,
                lcp: lhr.audits["largest-contentful-paint"].displayValue, version: lhr.lighthouseVersion });
  } finally {
    await chrome.kill();
  }
}
const day = new Date().toISOString().slice(0, 10);
console.log(`Lighthouse ${rows[0]?.version ?? "?"}, mobile, ${day}, ${base}\n`);
console.log("| page | performance | accessibility | best practices | SEO | FCP | LCP |");
console.log("|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(`| ${r.name} | ${r.performance} | ${r.accessibility} | ${r["best-practices"]} | ${r.seo} | ${r.fcp} | ${r.lcp} |`);
}
if (jsonOut) { mkdirSync(dirname(jsonOut), { recursive: true }); writeFileSync(jsonOut, JSON.stringify({ day, base, rows }, null, 2)); }
process.exit(failed ? 1 : 0);
