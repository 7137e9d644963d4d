// Fira Sans for the pages, small: each face KERN declares is cut into a Latin subset (the letters,
// punctuation and signs of German, English and the other Latin-script languages of names and
// addresses, about a fifth of the original) and the rest of the original file. The stylesheet names
// both with disjoint `unicode-range`s, so a browser fetches only the subset unless a text needs a
// Greek, Cyrillic or other glyph; the pages preload the subsets (templates/base.html).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import subsetFont from "subset-font";

// Basic Latin, Latin-1, Latin Extended-A, Romanian ș and ț, spacing modifiers and combining marks, capital ẞ,
// general punctuation (dashes, quotes, spaces), €, ™, arrows, minus, ≤ and ≥. Sorted and disjoint.
export const LATIN = [
  [0x0000, 0x017f], [0x0218, 0x021b], [0x02b0, 0x036f], [0x1e9e, 0x1e9e], [0x2000, 0x206f], [0x20ac, 0x20ac], [0x2122, 0x2122],
  [0x2190, 0x2193], [0x2212, 0x2212], [0x2264, 0x2265], [0xfeff, 0xfeff], [0xfffd, 0xfffd],
];
// the OpenType features browsers apply by default, and the numeral and case forms CSS can ask for;
// the stylistic sets and alternates no page uses would keep many glyphs
const FEATURES = ["ccmp", "locl", "mark", "mkmk", "kern", "liga", "calt", "clig", "case", "tnum", "pnum", "lnum",
  "frac", "sups", "subs"];

const hex = (code) => code.toString(16).toUpperCase();
const range = ([from, to]) => (from === to ? `U+${hex(from)}` : `U+${hex(from)}-${hex(to)}`);

/** The code points from 0 to U+10FFFF not in ``ranges`` (sorted, disjoint). */
export function complement(ranges) {
  const rest = [];
  let next = 0;
  for (const [from, to] of ranges) {
    if (from > next) rest.push([next, from - 1]);
    next = to + 1;
  }
  if (next <= 0x10ffff) rest.push([next, 0x10ffff]);
  return rest;
}

/** Subset every face of KERN's fira-sans.css in ``fontsDir`` (beside the original files); returns the
 * @font-face rules for both parts, their URLs relative to the stylesheet they go in (``urlPrefix``). */
export async function subsetFira(fontsDir, urlPrefix) {
  const cssPath = join(fontsDir, "fira-sans.css");
  const faces = [...readFileSync(cssPath, "utf8").matchAll(/@font-face\s*{([^}]*)}/g)].map(([, body]) => body);
  const codes = LATIN.flatMap(([from, to]) => Array.from({ length: to - from + 1 }, (_, i) => String.fromCodePoint(from + i)))
    .join("");
  const rules = [];
  for (const body of faces) {
    const file = body.match(/url\(["']?\.\/([^"')]+)["']?\)/)[1];
    const subsetName = file.replace(/\.woff2$/, ".latin.woff2");
    const subset = await subsetFont(readFileSync(join(fontsDir, file)), codes, { targetFormat: "woff2", keepFeatures: FEATURES });
    writeFileSync(join(fontsDir, subsetName), subset);
    const descriptors = body.replace(/\s*src:[^;]*;/, "").trim().replace(/\s+/g, " ");
    rules.push(`@font-face { ${descriptors} src: url("${urlPrefix}${file}") format("woff2"); `
      + `unicode-range: ${complement(LATIN).map(range).join(", ")}; }`);
    rules.push(`@font-face { ${descriptors} src: url("${urlPrefix}${subsetName}") format("woff2"); `
      + `unicode-range: ${LATIN.map(range).join(", ")}; }`);
  }
  return `/* Fira Sans (SIL OFL 1.1) from @kern-ux/native, cut by scripts/assets/fonts.mjs */\n${rules.join("\n")}\n`;
}
