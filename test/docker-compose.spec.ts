import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../src/config.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const SERVICES = ['app', 'eventstore', 'postgres'];

/**
 * docker-compose.yml, as docker-compose itself reads it. Debian's docker-compose (1.29) has no
 * `config --format json`, so the normalised YAML it prints is read with {@link mappingAt}.
 */
describe('docker-compose.yml', () => {
  let config: { exitCode: number; stdout: string; stderr: string };

  beforeAll(async () => {
    config = await composeConfig(dockerCompose());
  });

  it('is a valid compose file that defines the eventstore, postgres and app services', () => {
    expect(config).toMatchObject({ exitCode: 0 }); // on failure the diff shows docker-compose's stderr
    expect([...mappingAt(config.stdout, ['services']).keys()].sort()).toEqual(SERVICES);
  });

  it('gives the app only environment variables that src/config.ts reads, and a configuration it accepts', () => {
    const environment = appEnvironment(config.stdout);
    const read = variablesReadBy(readFileSync(join(root, 'src', 'config.ts'), 'utf8'));
    expect(Object.keys(environment).filter((name) => !read.has(name))).toEqual([]);
    expect(loadConfig(environment)).toMatchObject({ port: 3000, eventStore: 'eventstoredb' });
  });

  it('points the app at services it waits for until they are healthy', () => {
    const environment = appEnvironment(config.stdout);
    const hosts = [...hostsOf(environment.DATABASE_URL ?? ''), ...hostsOf(environment.EVENTSTORE_CONNECTION_STRING ?? '')];
    expect(hosts.sort()).toEqual(['eventstore', 'postgres']);
    for (const host of hosts) {
      expect(mappingAt(config.stdout, ['services', 'app', 'depends_on', host]).get('condition')).toBe('service_healthy');
    }
  });
});

/** The path of `docker-compose` on PATH. */
function dockerCompose(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'docker-compose');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  throw new Error('docker-compose not found: run `apt-get install -y docker-compose`');
}

async function composeConfig(binary: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(binary, ['-f', 'docker-compose.yml', 'config'], { cwd: root });
    return { exitCode: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    return { exitCode: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? String(error) };
  }
}

function appEnvironment(yaml: string): Record<string, string> {
  const entries = [...mappingAt(yaml, ['services', 'app', 'environment'])];
  return Object.fromEntries(entries.map(([name, value]) => [name, value ?? '']));
}

/**
 * The variable names src/config.ts reads: `env.NAME`, `env['NAME']`, and names handed with `env`
 * to a helper (`portNumber(env, 'PORT', …)`), counted only if the file reads `env[someName]`.
 */
function variablesReadBy(source: string): Set<string> {
  const names = new Set<string>();
  for (const match of source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)) names.add(match[1]!);
  for (const match of source.matchAll(/\benv\[\s*(['"])([A-Z][A-Z0-9_]*)\1\s*\]/g)) names.add(match[2]!);
  if (/\benv\[[a-z]\w*\]/.test(source)) {
    for (const match of source.matchAll(/\(\s*env\s*,\s*(['"])([A-Z][A-Z0-9_]*)\1/g)) names.add(match[2]!);
  }
  return names;
}

/** The host names of a connection string (`scheme://user:pass@host:port,host2:port/path?query`). */
function hostsOf(connectionString: string): string[] {
  const authority = connectionString.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split(/[/?]/)[0] ?? '';
  return authority.replace(/^.*@/, '').split(',').filter(Boolean).map((host) => host.replace(/:\d+$/, ''));
}

/**
 * The entries of the block mapping at `path` in docker-compose's normalised `config` output
 * (block style, one `key: value` or `key:` a line): key → unquoted scalar, or `undefined` for a
 * nested block. Enough for that output; not a YAML parser.
 */
function mappingAt(yaml: string, path: readonly string[]): Map<string, string | undefined> {
  let lines = yaml.split('\n').filter((line) => line.trim() !== '');
  let indent = 0;
  for (const key of path) {
    const at = lines.findIndex((line) => line === `${' '.repeat(indent)}${key}:`);
    if (at === -1) throw new Error(`docker-compose config output has no ${path.join('.')}`);
    const rest = lines.slice(at + 1);
    const end = rest.findIndex((line) => indentOf(line) <= indent);
    lines = end === -1 ? rest : rest.slice(0, end);
    indent = lines[0] === undefined ? indent + 2 : indentOf(lines[0]);
  }
  const entries = new Map<string, string | undefined>();
  for (const line of lines) {
    if (indentOf(line) !== indent || line.trimStart().startsWith('- ')) continue;
    const text = line.trim();
    const colon = text.indexOf(':');
    const value = text.slice(colon + 1).trim();
    entries.set(text.slice(0, colon), value === '' ? undefined : unquote(value));
  }
  return entries;
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

function unquote(value: string): string {
  if (value.startsWith("'") && value.endsWith("'")) return value.slice(1, -1).replaceAll("''", "'");
  if (value.startsWith('"') && value.endsWith('"')) return JSON.parse(value) as string;
  return value;
}
