import * as L from './package/dist/index.js';
import fs from 'fs';
const d = L.fakerEN.rawDefinitions;
const s = new Set();
for (const k of Object.keys(d.word||{})) for (const w of d.word[k]) if (/^[a-z]+$/.test(w)) s.add(w);
fs.writeFileSync('words.txt', [...s].sort().join('\n')+'\n');
const c = new Set(); for (const x of (d.location.country||[])) c.add(x);
console.log(s.size);
