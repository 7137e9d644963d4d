// Copies the self-hosted front-end assets the pages use into static/vendor/.
// No page loads anything from a CDN: this is the only source of third-party CSS, fonts and JS.
// The pages' one render-blocking stylesheet, static/vendor/kern/kern.pages.css, is cut from KERN's: the
// Fira Sans faces as a small Latin subset plus the rest (scripts/assets/fonts.mjs) and only the KERN
// rules the templates can use (scripts/assets/purge.mjs).
// Then it writes Brotli and gzip copies (<file>.br, <file>.gz) of every text file under static/, which
// citizen_portal/core/static_files.py sends to browsers that accept them (git ignores them).
import { cpSync, mkdirSync, rmSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { subsetFira } from "./assets/fonts.mjs";
import { purgeKern } from "./assets/purge.mjs";

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

const fontFaces = await subsetFira(join(target, "kern", "fonts"), "./fonts/");
const kernUsed = (await purgeKern(root, join(target, "kern", "kern.min.css"))).replace(/^@charset "UTF-8";/, "");
writeFileSync(join(target, "kern", "kern.pages.css"), `@charset "UTF-8";\n${fontFaces}${kernUsed}\n`);
console.log(`wrote static/vendor/kern/kern.pages.css (${Math.round(kernUsed.length / 1024)} KiB of KERN's rules, Latin font subsets)`);

const COMPRESSIBLE = new Set([".css", ".js", ".mjs", ".svg", ".json", ".txt", ".map"]);
const MIN_BYTES = 512; // the same threshold as static_files.MIN_COMPRESS_BYTES

function* textFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* textFiles(path);
    else if (COMPRESSIBLE.has(extname(entry.name)) && statSync(path).size >= MIN_BYTES) yield path;
  }
}

let packed = 0;
for (const path of textFiles(join(root, "static"))) {
  const data = readFileSync(path);
  writeFileSync(`${path}.br`, brotliCompressSync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  }));
  writeFileSync(`${path}.gz`, gzipSync(data, { level: 9 }));
  packed += 1;
}
console.log(`precompressed ${packed} files (.br, .gz)`);
