/* report.md against report.html (util/table_writer.c, escape.c): every table of the page
 * is in the Markdown with the same numbers in the same order (the study of docs/study, and
 * a hand-made one); and names, verdicts and CSV fields from a study folder cannot put HTML,
 * links or table breaks into report.md (issue: a plan's verdict <iframe src=javascript:...>
 * came through), nor into the page. With GitHub's cmark-gfm on the PATH the Markdown is
 * also rendered with raw HTML allowed, and the result must hold no tag from the inputs. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/error.h"
#include "report/report.h"
#include "report/study_folder.h"
#include "tests/testutil.h"

/* Both pages of the study in dir, in memory. */
static void render(const char *dir, char **html, char **md)
{
    Study s;
    if (study_load(dir, &s)) fail_msg("%s", error_get());
    size_t len;
    FILE *f = open_memstream(html, &len);
    report_render_html(&s, f);
    assert_int_equal(fclose(f), 0);
    f = open_memstream(md, &len);
    report_render_md(&s, f);
    assert_int_equal(fclose(f), 0);
    study_free(&s);
}

/* Append the numbers of text (runs of digits, '.', signs and exponents that hold a digit),
 * one per line. */
static void numbers_of(const char *text, FILE *out)
{
    const char *p = text;
    while (*p) {
        size_t n = strspn(p, "0123456789.+-eE");
        if (!n) {
            p++;
            continue;
        }
        bool digit = false;
        for (size_t i = 0; i < n; i++) digit |= isdigit((unsigned char)p[i]) != 0;
        if (digit) fprintf(out, "%.*s\n", (int)n, p);
        p += n;
    }
}

/* The text of the page's tables without their captions: tags as spaces, the entities the
 * report writes decoded, cells one after the other. */
static char *html_tables(const char *html)
{
    static const char *const entities[][2] = {{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"},
        {"&quot;", "\""}, {"&#39;", "'"}, {"&ndash;", "–"}, {"&plusmn;", "±"}, {"&tau;", "τ"},
        {"&rho;", "ρ"}};
    char *text;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    for (const char *t = strstr(html, "<table"); t; t = strstr(t, "<table")) {
        const char *end = strstr(t, "</table>");
        assert_non_null(end);
        for (const char *p = t; p < end;) {
            if (!strncmp(p, "<caption>", 9)) p = strstr(p, "</caption>") + 10;
            else if (*p == '<') {
                p = strchr(p, '>') + 1;
                fputc(' ', f);
            } else if (*p == '&') {
                size_t i = 0;
                while (i < sizeof entities / sizeof entities[0] && strncmp(p, entities[i][0], strlen(entities[i][0]))) i++;
                if (i == sizeof entities / sizeof entities[0]) fail_msg("unexpected entity at %.20s", p);
                fputs(entities[i][1], f);
                p += strlen(entities[i][0]);
            } else {
                fputc(*p++, f);
            }
        }
        fputc('\n', f);
        t = end;
    }
    assert_int_equal(fclose(f), 0);
    return text;
}

/* The Markdown's table lines (not the delimiter rows), backslash escapes undone. */
static char *md_tables(const char *md)
{
    char *text;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    for (const char *line = md; *line;) {
        const char *end = strchr(line, '\n');
        if (!end) end = line + strlen(line);
        if (line[0] == '|' && strncmp(line, "|---", 4))
            for (const char *p = line; p < end; p++) {
                if (*p == '\\' && p + 1 < end) p++;
                fputc(*p, f);
            }
        fputc('\n', f);
        line = *end ? end + 1 : end;
    }
    assert_int_equal(fclose(f), 0);
    return text;
}

static char *numbers(char *tables)
{
    char *list;
    size_t len;
    FILE *f = open_memstream(&list, &len);
    numbers_of(tables, f);
    assert_int_equal(fclose(f), 0);
    free(tables);
    return list;
}

/* The same numbers, in the same order, in the page's tables and in the Markdown's. */
static void expect_same_numbers(const char *html, const char *md)
{
    char *a = numbers(html_tables(html)), *b = numbers(md_tables(md));
    if (strcmp(a, b)) {
        const char *p = a, *q = b;
        int line = 1;
        while (*p && *p == *q) line += *p++ == '\n', q++;
        fail_msg("report.md's tables differ from report.html's at number %d: '%.20s' vs '%.20s'",
                 line, p, q);
    }
    assert_true(strlen(a) > 0);
    free(a);
    free(b);
}

/* The study `make study` wrote (docs/study): scans with controls, BN statistics, RMSE with
 * alignment, plans (validated), Table 1 with intervals, CKA, LogME and LEEP. */
static void test_markdown_has_the_pages_numbers(void **state)
{
    (void)state;
    char *html, *md;
    render("docs/study", &html, &md);
    expect_same_numbers(html, md);
    /* and the numbers are there: the scans' means, Table 1's cells, the verdict's tau-b */
    assert_non_null(strstr(md, "| layer | RM | RV | RW | RB | W | B |"));
    assert_non_null(strstr(md, " ± "));
    assert_non_null(strstr(md, "| LogME |"));
    free(html);
    free(md);
}

/* A study whose names and fields try to add markup. */
static const char *hostile_study(void)
{
    static char dir[2048];
    snprintf(dir, sizeof dir, "%s/hostile", test_dir());
    mkdir(dir, 0755);
    test_file_write(path_in(dir, "scans/a<b>x<&[l](javascript:alert(1))`c`.csv"),
               "layer,kind,tensor,dice_0,mean,delta,patient_mean,patient_sd,delta_lo,delta_hi,"
               "delta_random,trivial\n"
               "baseline,,,0.9,0.9,0,0.9,0.01,0,0,,\n"
               "1,RM,bn1.running_mean,0.8,0.8,-0.1,0.8,0.02,-0.12,-0.08,-0.2,0\n"
               "1,W,conv1.weight,0.85,0.85,-0.05,0.85,0.02,-0.06,-0.04,-0.05,1\n"
               "head,W,head.weight,0.7,0.7,-0.2,0.7,0.03,-0.25,-0.15,-0.3,0\n");
    test_file_write(path_in(dir, "plans/p<i>.json"),
               "{\"tensors\": [\"bn1.running_mean\"], \"verdict\": \"<iframe src=javascript:"
               "alert(1)>\", \"tau\": 0.02, \"rho\": 0.5, \"reused_tensors\": 1, "
               "\"total_tensors\": 3, \"w_reusable\": 0, \"w_total\": 2, \"not_reusable\": "
               "{\"W\": [\"<b>1</b>\", \"head|x\"]}, \"trivial\": [\"<img src=x onerror=alert(1)>\"]}");
    test_file_write(path_in(dir, "transfer/table.csv"),
               "n,configuration,runs,mean,mean_sd,mean_ci_lo,mean_ci_hi,delta_random,"
               "delta_ci_lo,delta_ci_hi,p_value\n"
               "10,random init,3,0.7300,0.0300,0.6555,0.8045,,,,\n"
               "10,\"<script>alert(1)</script> | [x](javascript:y), ![i](http://h/p.png)\",3,"
               "0.8100,0.0200,0.7603,0.8597,0.0800,0.0500,0.1100,0.25\n");
    return dir;
}

/* Whether every character of `chars` in text is escaped with a backslash. */
static bool escaped(const char *text, const char *chars)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            continue;
        }
        if (strchr(chars, *p)) return false;
    }
    return true;
}

static void test_inputs_cannot_add_markup(void **state)
{
    (void)state;
    const char *dir = hostile_study();
    char *html, *md;
    render(dir, &html, &md);
    /* the page: every input as text */
    assert_non_null(strstr(html, "&lt;iframe src=javascript:alert(1)&gt;"));
    assert_null(strstr(html, "<iframe"));
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<img"));
    /* the Markdown: the report itself writes no < > ` &, so every one is an input's and
     * escaped; so are an input's [ ] (a link or image) and | (a cell's end) */
    assert_non_null(strstr(md, "\\<iframe src=javascript:alert(1)\\>"));
    assert_non_null(strstr(md, "\\<script\\>alert(1)\\</script\\> \\| \\[x\\](javascript:y), "
                               "!\\[i\\](http://h/p.png)"));
    assert_non_null(strstr(md, "\\<b\\>1\\</b\\>, head\\|x"));
    assert_true(escaped(md, "<>`&"));
    /* the same numbers in both */
    expect_same_numbers(html, md);
    /* rendered as GitHub renders it, raw HTML allowed: no tag and no link from the inputs */
    char path[4096], cmd[8400], out[65536];
    snprintf(path, sizeof path, "%s/r.md", test_dir());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(md, f);
    assert_int_equal(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "command -v cmark-gfm >/dev/null && cmark-gfm --unsafe -e table '%s'",
             path);
    if (run_command(cmd, out, sizeof out) == 0) {
        static const char *const tags[] = {"<iframe", "<script", "<img", "<b>", "<i>", "<a ", "<code"};
        for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
            if (strstr(out, tags[i])) fail_msg("cmark-gfm made %s of report.md", tags[i]);
        assert_non_null(strstr(out, "&lt;iframe src=javascript:alert(1)&gt;"));
        assert_non_null(strstr(out, "<table>"));
    } else {
        print_message("skipped rendering with cmark-gfm: not installed\n");
    }
    free(html);
    free(md);
}

TEST_MAIN("report markdown", test_dir_setup, test_dir_teardown,
          test_markdown_has_the_pages_numbers, test_inputs_cannot_add_markup)
