// Copies the built files of the dashboard's npm libraries into the web root, with their licences and a
// manifest of the versions copied (checked by the tests against package-lock.json). Run: npm ci && npm run vendor
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, '..', 'src', 'Telemetry.Api', 'wwwroot', 'vendor');
const lock = JSON.parse(readFileSync(join(here, 'package-lock.json'), 'utf8'));

const files = {
  leaflet: ['dist/leaflet.js', 'dist/leaflet.css', 'LICENSE'],
  'chart.js': ['dist/chart.umd.min.js', 'LICENSE.md'],
};

rmSync(target, { recursive: true, force: true });
const manifest = {};
for (const [name, list] of Object.entries(files)) {
  const entry = lock.packages[`node_modules/${name}`];
  if (!entry) throw new Error(`${name} is not in package-lock.json: run npm ci first`);
  const installed = JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8')).version;
  if (installed !== entry.version) throw new Error(`${name}: node_modules has ${installed}, package-lock.json ${entry.version}: run npm ci`);
  const dir = join(target, name);
  mkdirSync(dir, { recursive: true });
  for (const file of list) {
    const from = join(here, 'node_modules', name, file);
    copyFileSync(from, join(dir, file.split('/').pop()));
  }
  manifest[name] = { version: entry.version, integrity: entry.integrity, files: readdirSync(dir).sort() };
  console.log(`${name} ${entry.version}: ${manifest[name].files.join(', ')}`);
}
writeFileSync(join(target, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
console.log(`written to ${target}`);
