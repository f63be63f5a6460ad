// Loads the English catalogue into i18n.js, as the widget's page would,
// so the tests read the words a user sees. A test file imports this before
// the modules it tests: some build their tables of words when they load.
import { readdirSync, readFileSync } from 'node:fs';
import { setCatalogue } from '../static/i18n.js';

export function catalogue(lang) {
  const dir = new URL(`../i18n/${lang}/`, import.meta.url);
  const messages = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const area = file.replace(/\.json$/, '');
    const entries = JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
    for (const [key, message] of Object.entries(entries)) messages[`${area}.${key}`] = message;
  }
  return messages;
}

setCatalogue('en-US', catalogue('en'));
