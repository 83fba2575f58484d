import * as L from './package/dist/index.js';
const latin = /^[A-Za-zÀ-ÖØ-öø-ž'\- ]+$/;
const sets = {first:new Set(), last:new Set(), city:new Set(), country:new Set()};
function add(s, v){ if(!v) return; const arr = Array.isArray(v)?v:(typeof v==='object'?Object.values(v).flat():[]); for(const x of arr){ if(typeof x==='string' && latin.test(x) && x.length>=2 && !x.includes(' ')) s.add(x);} }
for (const k of ['EN','EN_US','EN_GB','DE','FR','IT','ES','NL','CS_CZ','PL','PT_BR','SV','FI','DA','NB_NO','HU','SK','RO','TR','HR','EN_AU','EN_CA','EN_IE','EN_IN','ID_ID','PT_PT','DE_AT','DE_CH','FR_CH','LV','ZU_ZA','AF_ZA','EN_ZA','EN_GH','EN_NG']) {
  const f = L['faker'+k]; if(!f) {console.error('no',k); continue;}
  const d = f.rawDefinitions;
  if (d.person) { add(sets.first, d.person.first_name); add(sets.last, d.person.last_name); }
  if (d.location) { add(sets.city, d.location.city_name); add(sets.country, d.location.country); }
}
for (const [k,s] of Object.entries(sets)) { require_write(k, s); }
function require_write(k,s){ import('fs').then(fs=>fs.writeFileSync(k+'.txt',[...s].sort().join('\n')+'\n')); }
