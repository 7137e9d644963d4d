// Copies the self-hosted front-end assets the pages use into static/vendor/.
// No page loads anything from a CDN: this is the only source of third-party CSS, fonts and JS.
import { cpSync, mkdirSync, rmSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const modules = join(root, "node_modules");
const target = join(root, "static", "vendor");

const copies = [
  ["@kern-ux/native/dist/kern.min.css", "kern/kern.min.css"],
  ["@kern-ux/native/dist/fonts/fira-sans.css", "kern/fonts/fira-sans.css"],
  ["@kern-ux/native/dist/fonts/fira-sans", "kern/fonts/fira-sans"],
  ["@kern-ux/native/dist/js/kern-kopfzeile.js", "kern/kern-kopfzeile.js"],
  // the CSP-strict build: no inline styles, workers loaded from this site (registered in static/js/altcha-setup.js)
  ["altcha/dist/external/altcha.min.js", "altcha/altcha.min.js"],
  ["altcha/dist/external/altcha.css", "altcha/altcha.css"],
  ["altcha/dist/workers/sha.js", "altcha/workers/sha.js"],
  ["altcha/dist/i18n/de.js", "altcha/i18n/de.js"],
  ["altcha/dist/i18n/en.js", "altcha/i18n/en.js"],
  // the API reference (/api/v1/docs); its page script is static/js/api-docs.js (no inline script)
  ["swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"],
  ["swagger-ui-dist/swagger-ui.css", "swagger-ui/swagger-ui.css"],
  ["swagger-ui-dist/LICENSE", "swagger-ui/LICENSE"],
  ["axe-core/axe.min.js", "axe-core/axe.min.js"],
];

rmSync(target, { recursive: true, force: true });
for (const [from, to] of copies) {
  const source = join(modules, from);
  if (!existsSync(source)) {
    console.error(`missing asset ${from}: run 'npm ci' first`);
    process.exit(1);
  }
  mkdirSync(dirname(join(target, to)), { recursive: true });
  cpSync(source, join(target, to), { recursive: true });
  console.log(`copied ${from} -> static/vendor/${to}`);
}
