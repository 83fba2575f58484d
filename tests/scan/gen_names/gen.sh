#!/bin/sh
# SPDX-License-Identifier: MIT
# Regenerates src/scan/names.c from @faker-js/faker's locale data (MIT): first names, last
# names, cities and countries of ~35 locales, minus the common English words in faker's own
# word lists and a short manual stop list (gen.py). Needs node and npm; not part of the build.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
cd "$work"
npm pack @faker-js/faker@10.6.0 >/dev/null
tar xzf faker-js-faker-10.6.0.tgz
cp "$here"/dump.mjs "$here"/words.mjs "$here"/gen.py .
node dump.mjs
node words.mjs
python3 gen.py "$here/../../../src/scan/names.c"
rm -rf "$work"
