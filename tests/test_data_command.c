/* The `data` command (cmd_data, linked in with the other command objects): exit status
 * 0/1/2, one-line
 * messages naming the file for every broken input, and what `data info` prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cli/commands.h"
#include "datasets/dataset.h"
#include "datasets/nifti.h"
#include "datasets/pngio.h"
#include "datasets/preview.h"
#include "datasets/synth.h"
#include "engine/error.h"
#include "tests/testutil.h"

/* ---- the command */

typedef struct Argv {
    int argc;
    char *argv[12];
} Argv;

static void run_data(void *arg)
{
    Argv *a = arg;
    exit(cmd_data(a->argc, a->argv));
}

/* cmd_data with what it prints (stdout and stderr) captured into text (may be NULL). */
static int captured_cmd_data(int argc, char **argv, char *text, size_t len)
{
    fflush(stdout);
    fflush(stderr);
    int out = dup(1), err = dup(2);
    FILE *f = tmpfile();
    assert_non_null(f);
    dup2(fileno(f), 1);
    dup2(fileno(f), 2);
    int rc = cmd_data(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(out, 1);
    dup2(err, 2);
    close(out);
    close(err);
    if (text) {
        rewind(f);
        size_t n = fread(text, 1, len - 1, f);
        text[n] = '\0';
    }
    fclose(f);
    return rc;
}

static int quiet_cmd_data(int argc, char **argv) { return captured_cmd_data(argc, argv, NULL, 0); }

/* Replace a file's content with these bytes (gzip-compressed when gz). */
static void overwrite(const char *path, const void *bytes, size_t n, int gz)
{
    if (gz) {
        gzFile g = gzopen(path, "wb");
        assert_non_null(g);
        assert_int_equal(gzwrite(g, bytes, (unsigned)n), (int)n);
        gzclose(g);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fwrite(bytes, 1, n, f);
        fclose(f);
    }
}

/* Each broken file in an otherwise good dataset: `data info` exits 1 naming it. */
static void test_command_reports_each_broken_file(void **state)
{
    (void)state;
    const char *dir = path_in(test_dir(), "broken");
    const char *vol = path_in(test_dir(), "broken/patient001/patient001_frame01.nii.gz");
    const char *gt = path_in(test_dir(), "broken/patient001/patient001_frame01_gt.nii.gz");
    test_synth("acdc", 1, 32, 2, 1, dir);
    NiftiVolume good;
    assert_int_equal(nifti_read(vol, &good), 0);
    /* the header as written, to damage in memory */
    unsigned char hdr[352 + 32 * 32 * 2 * 2];
    gzFile g = gzopen(vol, "rb");
    assert_int_equal(gzread(g, hdr, sizeof hdr), (int)sizeof hdr);
    gzclose(g);
    char text[8192];
    char *info[] = {"data", "info", (char *)dir, NULL};
    struct { const char *what; const char *file; int cut; unsigned char byte0; int dim3; const char *expect; } cases[] = {
        {"truncated gzip", vol, 1, 0, 0, "patient001_frame01.nii.gz: truncated gzip data"},
        {"bad header", vol, 0, 0x9c, 0, "patient001_frame01.nii.gz: not a NIfTI-1 file"},
        {"NIfTI-2", vol, 0, 0x1c, 0, "patient001_frame01.nii.gz: NIfTI-2 file"},
        {"dims vs size", vol, 0, 0, 9, "patient001_frame01.nii.gz: dims 32x32x9x1 of int16 need"},
        {"mask size", gt, 0, 0, 3, "frame01_gt.nii.gz: dims 32x32x3x1 of uint8 need"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        unsigned char copy[sizeof hdr];
        memcpy(copy, hdr, sizeof hdr);
        size_t n = sizeof copy;
        if (cases[k].cut) n = 200;                                 /* cut inside the gzip stream */
        if (cases[k].byte0) copy[0] = cases[k].byte0;              /* sizeof_hdr 348 -> 412 / 540 */
        if (cases[k].byte0 == 0x1c) copy[1] = 2;
        if (cases[k].dim3) copy[46] = (unsigned char)cases[k].dim3;   /* dim[3]: 40 + 2 * 3 */
        if (cases[k].file == gt) {                                 /* a mask of uint8 values */
            copy[70] = 2;
            copy[72] = 8;
            n = 352 + 32 * 32 * 2;
        }
        if (cases[k].cut) {
            overwrite(cases[k].file, copy, sizeof copy, 1);
            assert_int_equal(truncate(cases[k].file, (off_t)n), 0);
        } else {
            overwrite(cases[k].file, copy, n, 1);
        }
        assert_int_equal(captured_cmd_data(3, info, text, sizeof text), 1);
        if (!strstr(text, "reusenet: ") || !strstr(text, cases[k].expect)) {
            print_error("%s: printed '%s', expected '%s'\n", cases[k].what, text, cases[k].expect);
            fail();
        }
        /* restore both files for the next case */
        assert_int_equal(nifti_write(vol, &good, NIFTI_INT16, 1), 0);
        NiftiVolume m = good;
        m.data = calloc(nifti_voxel_count(&good), sizeof(float));
        assert_int_equal(nifti_write(gt, &m, NIFTI_UINT8, 1), 0);
        free(m.data);
    }
    /* valid files that do not match: a mask of another size, a mask value that is no label */
    NiftiVolume m = {{32, 32, 3, 1}, {1, 1, 1, 0}, 0, 0, calloc(32 * 32 * 3, sizeof(float))};
    assert_int_equal(nifti_write(gt, &m, NIFTI_UINT8, 1), 0);
    assert_int_equal(captured_cmd_data(3, info, text, sizeof text), 1);
    assert_non_null(strstr(text, "patient001_frame01.nii.gz and its mask"));
    assert_non_null(strstr(text, "patient001_frame01_gt.nii.gz differ in size"));
    m.dim[2] = 2;
    m.data[100] = 9;
    assert_int_equal(nifti_write(gt, &m, NIFTI_UINT8, 1), 0);
    assert_int_equal(captured_cmd_data(3, info, text, sizeof text), 1);
    assert_non_null(strstr(text, "frame01_gt.nii.gz (mask of"));
    assert_non_null(strstr(text, "value 9 at x=4 y=3 z=0 t=0 is not a label 0..3"));
    m.data[100] = 3;
    assert_int_equal(nifti_write(gt, &m, NIFTI_UINT8, 1), 0);
    free(m.data);
    assert_int_equal(captured_cmd_data(3, info, text, sizeof text), 0);
    nifti_free(&good);
}

static void test_command_errors(void **state)
{
    (void)state;
    /* a dataset with a truncated gzip volume: `data info` fails naming the file */
    const char *dir = path_in(test_dir(), "trunc");
    test_synth("acdc", 1, 48, 2, 1, dir);
    const char *vol = path_in(test_dir(), "trunc/patient001/patient001_frame01.nii.gz");
    struct stat st;
    assert_int_equal(stat(vol, &st), 0);
    assert_int_equal(truncate(vol, st.st_size / 2), 0);
    Argv info = {3, {"data", "info", (char *)dir}};
    assert_exits_with_message(run_data, &info, "reusenet: ");
    assert_exits_with_message(run_data, &info, "patient001_frame01.nii.gz: truncated gzip data");
    Argv prev = {5, {"data", "preview", (char *)dir, "-o", path_in(test_dir(), "sheet.png")}};
    assert_exits_with_message(run_data, &prev, "truncated gzip data");
    /* synth into a folder that is not empty, a bad preset, a bad number */
    Argv nonempty = {6, {"data", "synth", "--preset", "acdc", "-o", (char *)dir}};
    assert_exits_with_message(run_data, &nonempty, "already exists and is not empty");
    Argv preset = {6, {"data", "synth", "--preset", "ct", "-o", path_in(test_dir(), "x")}};
    assert_exits_with_message(run_data, &preset, "unknown preset 'ct'");
    Argv count = {8, {"data", "synth", "--preset", "t1", "--patients", "1e3", "-o", path_in(test_dir(), "x")}};
    assert_exits_with_message(run_data, &count, "--patients needs an integer, got '1e3'");
    Argv zero = {8, {"data", "synth", "--preset", "t1", "--patients", "0", "-o", path_in(test_dir(), "x")}};
    assert_exits_with_message(run_data, &zero, "--patients must be 1..9999, got 0");
    Argv slices = {8, {"data", "synth", "--preset", "t1", "--slices", "-1", "-o", path_in(test_dir(), "x")}};
    assert_exits_with_message(run_data, &slices, "--slices must be 1..64, got -1");
    Argv missing = {3, {"data", "info", path_in(test_dir(), "missing")}};
    assert_exits_with_message(run_data, &missing, "missing: no such folder");
    Argv unknown = {2, {"data", "convert"}};
    assert_exits_with_message(run_data, &unknown, "unknown data command 'convert'");
    Argv noout = {3, {"data", "preview", (char *)dir}};
    assert_exits_with_message(run_data, &noout, "missing -o SHEET.png");
    Argv nodir = {2, {"data", "info"}};
    assert_exits_with_message(run_data, &nodir, "reusenet data info: missing DIR");
    /* usage errors return 2, failures 1, help 0 */
    assert_int_equal(quiet_cmd_data(2, (char *[]){"data", "convert", NULL}), 2);
    assert_int_equal(quiet_cmd_data(4, (char *[]){"data", "synth", "--preset", "acdc", NULL}), 2);
    assert_int_equal(quiet_cmd_data(4, (char *[]){"data", "synth", "-o", path_in(test_dir(), "x"), NULL}), 2);
    assert_int_equal(quiet_cmd_data(6, (char *[]){"data", "synth", "--preset", "ct", "-o", path_in(test_dir(), "x"), NULL}), 2);
    assert_int_equal(quiet_cmd_data(4, (char *[]){"data", "info", (char *)dir, "--bogus", NULL}), 2);
    assert_int_equal(quiet_cmd_data(3, (char *[]){"data", "info", (char *)dir, NULL}), 1);
    assert_int_equal(quiet_cmd_data(3, (char *[]){"data", "synth", "--help", NULL}), 0);
    assert_int_equal(quiet_cmd_data(3, (char *[]){"data", "preview", "--help", NULL}), 0);
    assert_int_equal(quiet_cmd_data(3, (char *[]){"data", "info", "--help", NULL}), 0);
    assert_int_equal(quiet_cmd_data(2, (char *[]){"data", "--help", NULL}), 0);
}

static void test_command_synth_info_preview(void **state)
{
    (void)state;
    const char *dir = path_in(test_dir(), "cli_rvsc");
    char *argv[] = {"data", "synth", "--preset", "rvsc", "--patients", "2", "--size", "64",
                    "--seed", "5", "-o", (char *)dir, NULL};
    assert_int_equal(quiet_cmd_data(12, argv), 0);
    char text[8192];
    assert_int_equal(captured_cmd_data(3, (char *[]){"data", "info", (char *)dir, NULL}, text, sizeof text), 0);
    static const char *expect[] = {"layout    ACDC (NIfTI volumes)", "preset    rvsc", "labelled  RV\n",
                                   "patients  2 (patient001 .. patient002)", "size      64x64",
                                   "1 RV ", "(not labelled)", "split     1 training / 1 validation"};
    for (size_t k = 0; k < sizeof expect / sizeof expect[0]; k++)
        if (!strstr(text, expect[k])) {
            print_error("data info printed:\n%s\nmissing '%s'\n", text, expect[k]);
            fail();
        }
    const char *sheet = path_in(test_dir(), "cli_sheet.png");
    char *pv[] = {"data", "preview", (char *)dir, "-o", (char *)sheet, "--columns", "3", "--rows", "2",
                  "--tile", "40", NULL};
    assert_int_equal(quiet_cmd_data(11, pv), 0);
    GrayImage img;
    assert_int_equal(pngio_read_gray(sheet, &img), 0);
    assert_int_equal(img.was_color, 1);
    assert_int_equal(img.width, 3 * 42 + 2);
    assert_int_equal(img.height, 2 * 42 + 2);
    pngio_free(&img);
    Dataset *d = dataset_open(dir);
    PreviewOptions po;
    preview_defaults(&po);
    po.tile = 32;
    assert_int_equal(preview_write(d, path_in(test_dir(), "lib_sheet.png"), &po), 0);
    dataset_close(d);
}

/* `data info` on the ACDC release as shipped (no dataset.cfg): the acdc preset with RV,
 * myocardium and LV labelled, and each class's pixel count what the mask files hold
 * (read here with the NIfTI reader alone). */
static void test_command_info_release_without_cfg(void **state)
{
    (void)state;
    const char *dir = path_in(test_dir(), "cli_release");
    test_synth("acdc", 2, 48, 3, 3, dir);
    assert_int_equal(unlink(path_in(dir, "dataset.cfg")), 0);
    long long raw[4] = {0};
    Dataset *d = dataset_open(dir);                 /* for the list of mask files */
    assert_non_null(d);
    for (int p = 0; p < d->patient_count; p++)
        for (int i = 0; i < d->patients[p].item_count; i++) {
            NiftiVolume m;
            assert_int_equal(nifti_read(d->patients[p].items[i].mask, &m), 0);
            for (size_t k = 0; k < nifti_voxel_count(&m); k++) raw[(int)m.data[k] & 3]++;
            nifti_free(&m);
        }
    dataset_close(d);
    char text[8192];
    assert_int_equal(captured_cmd_data(3, (char *[]){"data", "info", (char *)dir, NULL}, text,
                                       sizeof text), 0);
    if (!strstr(text, "preset    acdc\n") || !strstr(text, "labelled  RV, myocardium, LV\n") ||
        strstr(text, "not labelled"))
        fail_msg("data info printed:\n%s", text);
    static const char *names[4] = {"background", "RV", "myocardium", "LV"};
    for (int c = 0; c < 4; c++) {
        char row[64];
        snprintf(row, sizeof row, "%d %-10s", c, names[c]);
        const char *at = strstr(text, row);
        long long pixels = -1;
        if (!at || sscanf(at + strlen(row), "%lld", &pixels) != 1 || pixels != raw[c] || !raw[c])
            fail_msg("class %d: data info says %lld pixels, the masks hold %lld:\n%s", c, pixels,
                     raw[c], text);
    }
}

TEST_MAIN("data command", test_dir_setup, test_dir_teardown,
          test_command_errors, test_command_reports_each_broken_file,
          test_command_synth_info_preview, test_command_info_release_without_cfg)
