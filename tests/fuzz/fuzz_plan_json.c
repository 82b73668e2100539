/* libFuzzer target for reuse plan files (plans/NAME.json, `reusenet train --plan`): any
 * byte string must either parse into an object whose "tensors" are all strings, or fail
 * with a one-line message. A parsed plan is then read as the training does (its tensor
 * names) and as the report does (plan_summary, and both report pages rendered to
 * /dev/null). Never crash, leak, or read out of bounds (built with
 * -fsanitize=fuzzer,address,undefined). plan_file_read parses with the same code after
 * reading the file whole.
 *
 *   make fuzz
 *   build-fuzz/fuzz_plan_json -max_len=4096 build-fuzz/corpus/fuzz_plan_json \
 *       tests/fuzz/seeds/fuzz_plan_json */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "report/report.h"
#include "report/report_data.h"
#include "report/study_folder.h"
#include "train/plan_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *sink(void)
{
    static FILE *null;
    if (!null && !(null = fopen("/dev/null", "w"))) abort();
    return null;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    error_clear();
    cJSON *json = plan_file_parse((const char *)data, size, "fuzz.json");
    if (!json) {
        const char *msg = error_get();
        if (msg[0] == '\0' || strchr(msg, '\n')) abort();   /* every failure says why, in one line */
        return 0;
    }
    const cJSON *item, *tensors = cJSON_GetObjectItemCaseSensitive(json, "tensors");
    if (!cJSON_IsArray(tensors)) abort();
    volatile size_t chars = 0;
    cJSON_ArrayForEach(item, tensors) {
        if (!cJSON_IsString(item) || !item->valuestring) abort();
        chars += strlen(item->valuestring);
    }
    (void)chars;

    PlanSummary ps;
    plan_summary(json, &ps);
    for (int k = 0; k < 6; k++)
        if (!memchr(ps.not_reusable[k], '\0', sizeof ps.not_reusable[k])) abort();

    StudyPlan plan = {.name = (char *)"fuzz", .json = json};
    Study s = {.dir = (char *)"fuzz-study", .plans = &plan, .n_plans = 1};
    report_render_html(&s, sink());
    report_render_md(&s, sink());
    cJSON_Delete(json);
    return 0;
}
