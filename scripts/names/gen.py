import re
import sys
words=set(open('words.txt').read().split())
extra="""a about above after again against all also am an and any are as at be because been before being below between both but by can could did do does doing down during each few for from further had has have having he her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other our ours out over own same she should so some such than that the their them then there these they this those through to too under until up very was we were what when where which while who whom why will with would you your yours
monday tuesday wednesday thursday friday saturday sunday january february march april may june july august september october november december
will may june april august bill rose grant mark lane hill long young rich page wood king price bell ward hope joy faith grace summer autumn winter spring dawn star rain sky river stone brook ray gay art bob sue pat jack frank
new old north south east west great little big street road city county state park lake mount port fort saint san santa los las del de la le van von den der di da du
hello thanks please thank sorry yes okay sure help call email phone today tomorrow
apple google amazon microsoft meta tesla
name baby princess prince island islands group inc ltd company corp sierra florida rica costa puerto virgin saint marino guinea leone salvador kitts nevis verde""".split()
stop=words|set(extra)
def load(f, minlen=2, keep_words=False):
    out=set()
    for w in open(f).read().split('\n'):
        w=w.strip()
        if len(w)<minlen or not w[0].isupper(): continue
        if w.lower() in stop and not (keep_words and w.lower() in words and w.lower() not in extra): continue
        if not re.match(r"^[^\W\d_][^\W\d_'\-]*$", w): continue
        out.add(w)
    return sorted(out, key=lambda s: s.encode())
# A first name that is also an English word ("Peter", "Carol", "Dean") stays a first name: it is in
# the stop list too, so alone it is no name, but before a last name or after "my name is" it is.
first=load('first.txt', keep_words=True); last=load('last.txt',3); places=load('city.txt',3)
places=sorted(set(places)|set(load('country.txt',4)), key=lambda s:s.encode())
def blob(name, lst):
    s='const char %s[] =\n' % name
    line='    "'
    for w in lst:
        e=w.encode().decode('utf-8')
        piece=''.join(c if ord(c)<128 and c not in '"\\' else ''.join('\\%03o'%b for b in c.encode()) for c in w)+'\\0'
        if len(line)+len(piece)>96:
            s+=line+'"\n'; line='    "'
        line+=piece
    s+=line+'";\nconst size_t %s_len = sizeof(%s) - 1;\n\n' % (name,name)
    return s
stopl=sorted(set(w.capitalize() for w in stop), key=lambda s:s.encode())
hdr='''/* SPDX-License-Identifier: MIT */
/* DO NOT EDIT - generated at build time by scripts/names/gen.sh from the first-name, last-name,
 * city and
 * country lists of @faker-js/faker 10.6.0 (MIT), minus common English words. The scanner's PERSON
 * and LOCATION detectors look capitalised words up in these sorted, NUL-separated blobs. */
#include "scan/scan_int.h"

'''
open(sys.argv[1],'w').write(hdr+blob('scan_first_names',first)+blob('scan_last_names',last)+blob('scan_places',places)+blob('scan_stop_words',stopl))
print(len(first),len(last),len(places),len(stopl))
