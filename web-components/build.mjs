#!/usr/bin/env node
/**
 * Builds the web components into ONE file, `dist/web/widget.js` (ESM, es2022, minified; Lit and
 * the STOMP client included), copies the demo pages beside it (`dist/web/pages/`), and prints
 * the bundle's gzipped size against its budget, on stderr: `npm run chat` builds first, and its
 * stdout is the command's output (an export). `npm run build` runs it.
 *
 * Files are written to a temporary name and renamed, so that a server (or a concurrent build)
 * never reads a half-written bundle.
 */
import { build } from 'esbuild';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
export const OUT_DIR = join(ROOT, 'dist', 'web');
export const BUNDLE = join(OUT_DIR, 'widget.js');
export const BUDGET_GZIP_BYTES = 60 * 1024;

/** Builds the bundle and copies the pages. @returns sizes in bytes. */
export async function buildWeb({ quiet = false } = {}) {
  const result = await build({
    entryPoints: [join(HERE, 'index.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    tsconfig: join(HERE, 'tsconfig.json'),
    write: false,
    logLevel: 'warning',
    metafile: true,
  });
  const code = result.outputFiles[0].contents;
  await mkdir(join(OUT_DIR, 'pages'), { recursive: true });
  await writeAtomically(BUNDLE, code);
  const pages = join(HERE, 'pages');
  for (const name of await readdir(pages)) {
    await writeAtomically(join(OUT_DIR, 'pages', name), await readFile(join(pages, name)));
  }
  const sizes = { bytes: code.byteLength, gzipBytes: gzipSync(code, { level: 9 }).byteLength };
  if (!quiet) {
    const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
    console.error(`web components: ${BUNDLE} ${kib(sizes.bytes)}, ${kib(sizes.gzipBytes)} gzipped (budget ${kib(BUDGET_GZIP_BYTES)})`);
  }
  if (sizes.gzipBytes > BUDGET_GZIP_BYTES) {
    throw new Error(`the bundle is ${sizes.gzipBytes} bytes gzipped, over its budget of ${BUDGET_GZIP_BYTES}`);
  }
  return sizes;
}

async function writeAtomically(file, contents) {
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, file);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await buildWeb();
  } catch (error) {
    console.error(`web components: ${error.message}`);
    process.exitCode = 1;
  }
}
