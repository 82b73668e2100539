/* libFuzzer target for the predictors' CSV files the report renders (cka/NAME.csv from
 * `reusenet cka`, transferability/NAME.csv from `reusenet transferability`): any byte
 * string must either parse into a table that is then checked as each part
 * (study_check_columns) and, where it passes, rendered into both report pages beside a
 * Table 1 (the predictors' verdict ranks Table 1's sources by the table's scores), or fail
 * with a one-line message. Never crash, leak or read out of bounds (built with
 * -fsanitize=fuzzer,address,undefined).
 *
 *   make fuzz
 *   build-fuzz/fuzz_predictor_csv build-fuzz/corpus/fuzz_predictor_csv \
 *       tests/fuzz/seeds/fuzz_predictor_csv
 *
 * Seeds: the CKA and transferability files of the study in docs/study. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "util/csv.h"
#include "report/report.h"
#include "report/study_folder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A Table 1 of two sources, as `reusenet transfer` writes it. */
static const char TABLE1[] =
    "n,configuration,runs,class_0,class_0_sd,mean,mean_sd,mean_ci_lo,mean_ci_hi,delta_random,"
    "delta_ci_lo,delta_ci_hi,p_value\n"
    "10,random init,3,0.97,0.01,0.87,0.01,0.86,0.88,,,,\n"
    "10,T1_seg freeze,3,0.95,0.01,0.78,0.05,0.71,0.86,-0.08,-0.17,-0.01,0.25\n"
    "10,T1_auto freeze,3,0.96,0.01,0.80,0.04,0.75,0.85,-0.06,-0.12,0.01,0.5\n"
    "10,T1_seg fine-tune,3,0.97,0.01,0.88,0.01,0.86,0.90,0.01,-0.02,0.03,0.75\n";

static FILE *sink(void)
{
    static FILE *null;
    if (!null && !(null = fopen("/dev/null", "w"))) abort();
    return null;
}

static void check_message(void)
{
    const char *msg = error_get();
    if (msg[0] == '\0' || strchr(msg, '\n')) abort();   /* every failure says why, in one line */
    error_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static CsvTable table1;
    if (!table1.path && csv_parse(TABLE1, sizeof TABLE1 - 1, "table.csv", &table1)) abort();
    CsvTable t;
    error_clear();
    if (csv_parse((const char *)data, size, "fuzz.csv", &t) != 0) {
        check_message();
        return 0;
    }
    StudyTable tab = {.name = (char *)"T1_seg", .csv = t};
    Study s = {.dir = (char *)"fuzz-study", .has_table = true,
               .table = {.name = (char *)"table", .csv = table1}};
    if (study_check_columns("cka", &t) == 0) s.cka = &tab, s.n_cka = 1;
    else check_message();
    if (study_check_columns("transferability", &t) == 0) s.scores = &tab, s.n_scores = 1;
    else check_message();
    if (s.n_cka || s.n_scores) {
        report_render_html(&s, sink());
        report_render_md(&s, sink());
    }
    csv_free(&t);
    return 0;
}
