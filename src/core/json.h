/* SPDX-License-Identifier: MIT */
/* The JSON library (cJSON, Debian libcjson-dev) is reached only through this header, so replacing
 * it means changing this header and json.c. cJSON's own API is small and documented, so rooms use
 * it directly through this include rather than through a second wrapper layer (see
 * docs/internals/PRINCIPLES.md, "JSON"). The helpers below cover the repeated lookups. */
#ifndef HG_CORE_JSON_H
#define HG_CORE_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* Parses exactly n bytes (need not be NUL-terminated). NULL on invalid JSON, trailing bytes, or
 * an object with a duplicate member name (parsers disagree on which one wins).
 * The caller owns the result (cJSON_Delete). Depth is limited by cJSON (CJSON_NESTING_LIMIT). */
cJSON *json_parse(const char *p, size_t n);
/* String member or NULL when missing or not a string. */
const char *json_get_str(const cJSON *obj, const char *key);
/* Bool member, or def when missing or not a bool. */
bool json_get_bool(const cJSON *obj, const char *key, bool def);
/* Number member as double, or def when missing or not a number. */
double json_get_num(const cJSON *obj, const char *key, double def);
/* Writes the JSON Pointer (RFC 6901) of node inside root into out ("" when not found or node is
 * the root). Truncated to outlen. */
void json_path_of(const cJSON *root, const cJSON *node, char *out, size_t outlen);
/* Appends the compact serialization of j to out. 0 or -1 (cap). */
int json_append(struct buf *out, const cJSON *j);

#endif
