// KERN's stylesheet with only the rules the pages can use (about a third of kern.min.css, 10 KiB with Brotli instead of 23), so the one
// render-blocking stylesheet of every page is small. "Can use": a class, element or attribute named in
// a template, in the pages' JavaScript or in Python code (templates/, static/js/, the packages), plus
// the classes templates compose at render time (the safelist). tests/test_static_assets.py fails when a
// class the sources name is in KERN but missing from the cut stylesheet (then run `make assets`).
import { readFileSync } from "node:fs";
import { PurgeCSS } from "purgecss";

export const SOURCES = [
  "templates/**/*.html", "templates/**/*.txt", "static/js/**/*.js",
  "citizen_portal/**/*.py", "polls/**/*.py", "staff_calendar/**/*.py",
];

// classes the templates build from a variable (``kern-btn--{{ kind }}``, ``kern-alert--{{ category }}``,
// ``kern-form-check__{{ 'checkbox' … }}``, ``kern-form-input__input--width-{{ width }}``)
export const SAFELIST = [/^kern-btn--/, /^kern-badge--/, /^kern-alert--/, /^kern-form-check__/,
  /^kern-form-input__input--width-/];

// PurgeCSS drops a selector ``:is(…):not(…)`` whole and cuts ``:is()`` lists: KERN's theme rule
// ``:is(body, .kern-light, …):not([class*=kern-level-])``, which gives ``body`` the "contextual" colour
// tokens every component reads, would be lost. Rules with ``:is(``/``:where(`` are kept as they are.
const KEEP_AS_IS = /(^|[{}])([^{}@]*:(?:is|where)\([^{}]*)\{/g;

/** The rules of ``cssPath`` that the sources under ``root`` can use, as one CSS string. */
export async function purgeKern(root, cssPath) {
  const raw = readFileSync(cssPath, "utf8").replace(KEEP_AS_IS, "$1$2{/* purgecss ignore current */");
  const [result] = await new PurgeCSS().purge({
    content: SOURCES.map((glob) => `${root}/${glob}`),
    css: [{ raw }],
    safelist: { standard: SAFELIST },
    // custom properties, @font-face and @keyframes stay: KERN's tokens are read through var() chains
    variables: false, fontFace: false, keyframes: false,
  });
  return result.css;
}
