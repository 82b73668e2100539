/* Reading a reuse plan file (reuse/plan.h writes it; `reusenet train --plan` and the study
 * report read it): a JSON object whose "tensors" array names the tensors to reuse. */
#ifndef REUSENET_PLAN_FILE_H
#define REUSENET_PLAN_FILE_H

#include <stddef.h>

typedef struct cJSON cJSON;

/* Parse len bytes of plan JSON (path names them in messages). Only white space may follow
 * the object, and every entry of "tensors" must be a string. The parsed tree (free with
 * cJSON_Delete), or NULL with one line naming path and the problem. */
cJSON *plan_file_parse(const char *text, size_t len, const char *path);
/* Read and parse the file path. */
cJSON *plan_file_read(const char *path);

#endif
