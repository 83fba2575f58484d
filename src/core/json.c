/* SPDX-License-Identifier: MIT */
/* Helpers over cJSON. See json.h. */
#include "core/json.h"

#include <stdlib.h>
#include <string.h>

cJSON *
json_parse(const char *p, size_t n)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(p, n, &end, 0);
    if (j == NULL)
        return NULL;
    /* Only whitespace may follow the value. */
    while (end && end < p + n && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        end++;
    if (end && end < p + n && *end != '\0') {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

const char *
json_get_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool
json_get_bool(const cJSON *obj, const char *key, bool def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsTrue(v))
        return true;
    if (cJSON_IsFalse(v))
        return false;
    return def;
}

double
json_get_num(const cJSON *obj, const char *key, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

int
json_append(struct buf *out, const cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    if (s == NULL)
        return -1;
    int r = buf_appends(out, s);
    cJSON_free(s);
    return r;
}
