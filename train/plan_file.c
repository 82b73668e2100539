#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "engine/fsutil.h"
#include "engine/json_depth.h"
#include "train/plan_file.h"

cJSON *plan_file_parse(const char *text, size_t len, const char *path)
{
    if (memchr(text, '\0', len)) {
        error_set("%s: not a reuse plan (holds a NUL byte)", path);
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root && json_depth(text, len) >= CJSON_NESTING_LIMIT) {
        error_set("%s: not a reuse plan (arrays or objects nested more than %d deep)", path,
                  CJSON_NESTING_LIMIT);
        return NULL;
    }
    if (!root) {
        /* on failure, end is where cJSON stopped */
        size_t offset = end && end >= text && end <= text + len ? (size_t)(end - text) : len;
        error_set("%s: not a reuse plan (invalid JSON near byte %zu)", path, offset);
        return NULL;
    }
    while (end < text + len && strchr(" \t\r\n", *end)) end++;
    const char *problem = NULL;
    const cJSON *tensors = cJSON_GetObjectItemCaseSensitive(root, "tensors"), *item;
    if (end != text + len) problem = "text after the JSON value";
    else if (!cJSON_IsObject(root) || !cJSON_IsArray(tensors)) problem = "no \"tensors\" array";
    else
        cJSON_ArrayForEach(item, tensors)
            if (!cJSON_IsString(item)) problem = "\"tensors\" holds a non-string entry";
    /* a name given twice or empty means the plan is not what its writer meant */
    const cJSON *other, *names = problem ? NULL : tensors;
    cJSON_ArrayForEach(item, names) {
        if (!item->valuestring[0]) problem = "\"tensors\" holds an empty name";
        for (other = tensors->child; !problem && other != item; other = other->next)
            if (!strcmp(other->valuestring, item->valuestring)) {
                error_set("%s: not a reuse plan (\"tensors\" names '%.80s' twice)", path,
                          item->valuestring);
                cJSON_Delete(root);
                return NULL;
            }
        if (problem) break;
    }
    if (problem) {
        error_set("%s: not a reuse plan (%s)", path, problem);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

cJSON *plan_file_read(const char *path)
{
    char *text;
    size_t len;
    if (read_whole_file(path, &text, &len) != 0) return NULL;
    cJSON *root = plan_file_parse(text, len, path);
    free(text);
    return root;
}
