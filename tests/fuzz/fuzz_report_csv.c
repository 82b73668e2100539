/* libFuzzer target for the CSV files the report and `reusenet plan` read (scans, bn, rmse,
 * transfer/table.csv): any byte string must either parse into a table whose every row has
 * the header's number of fields, or fail with a one-line message. A parsed table is then
 * put into a study wherever its columns fit (study_check_columns) and as Table 1, and both
 * report pages are rendered (to /dev/null), and a plan is made from it as from a scan.
 * Never crash, leak, or read out of bounds (built with -fsanitize=fuzzer,address,undefined).
 * csv_read parses with the same code after reading the file whole.
 *
 *   make fuzz
 *   build-fuzz/fuzz_report_csv -max_len=4096 build-fuzz/corpus/fuzz_report_csv \
 *       tests/fuzz/seeds/fuzz_report_csv */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "util/csv.h"
#include "reuse/plan.h"
#include "report/report.h"
#include "report/study_folder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(void)
{
    const char *msg = error_get();
    if (msg[0] == '\0' || strchr(msg, '\n')) abort();   /* every failure says why, in one line */
    error_clear();
}

static FILE *sink(void)
{
    static FILE *null;
    if (!null && !(null = fopen("/dev/null", "w"))) abort();
    return null;
}

static void render(CsvTable *t)
{
    StudyTable tab = {.name = (char *)"fuzz", .csv = *t};
    Study s = {.dir = (char *)"fuzz-study", .has_table = true, .table = tab};
    if (study_check_columns("scans", t) == 0) s.scans = &tab, s.n_scans = 1;
    if (study_check_columns("bn", t) == 0) s.bn = &tab, s.n_bn = 1;
    if (study_check_columns("rmse", t) == 0) s.rmse = &tab, s.n_rmse = 1;
    error_clear();
    report_render_html(&s, sink());
    report_render_md(&s, sink());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    CsvTable t;
    error_clear();
    if (csv_parse((const char *)data, size, "fuzz.csv", &t) != 0) {
        check_message();
        if (t.rows || t.header || t.path) abort();
        return 0;
    }
    if (t.n_cols < 1 || t.n_rows < 0 || strcmp(t.path, "fuzz.csv")) abort();
    for (int c = 0; c < t.n_cols; c++)
        if (csv_column(&t, t.header[c]) < 0 || csv_column(&t, t.header[c]) > c) abort();
    volatile double total = 0;
    for (int r = 0; r < t.n_rows; r++)
        for (int c = 0; c < t.n_cols; c++) total += strlen(t.rows[r][c]) + csv_number(&t, r, c);
    (void)total;

    render(&t);

    PlanOptions o;
    plan_options_defaults(&o);
    Plan p;
    if (plan_from_table(&t, &o, &p) != 0) {
        check_message();
    } else {
        if (p.n < 1 || p.reusable > p.n || p.w_reusable > p.w_total) abort();
        plan_print(sink(), &p);
        plan_free(&p);
    }
    csv_free(&t);
    return 0;
}
