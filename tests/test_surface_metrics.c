/* Surface metrics of eval --pred/--gt (train/surface_metrics.h): the distance transform
 * against brute force (every voxel to every feature, anisotropic, 2-D and 3-D, no
 * feature), the percentile against numpy's rule, and whole cases against an independent
 * computation with SciPy as MedPy does it (tests/data/surface_cases.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/csv.h"
#include "tests/testutil.h"
#include "train/surface_metrics.h"

static void check_edt(int nx, int ny, int nz, const double sp[3], int density, uint64_t seed)
{
    const int dim[3] = {nx, ny, nz};
    const size_t n = (size_t)nx * ny * nz;
    float *r = malloc(n * sizeof *r);
    fill_uniform(r, n, 0, 100, seed);
    uint8_t *feat = malloc(n);
    for (size_t i = 0; i < n; i++) feat[i] = r[i] < density;
    double *d = malloc(n * sizeof *d);
    edt_squared(feat, dim, sp, d);
    for (int z = 0; z < nz; z++)
        for (int y = 0; y < ny; y++)
            for (int x = 0; x < nx; x++) {
                double best = INFINITY;
                for (int c = 0; c < nz; c++)
                    for (int b = 0; b < ny; b++)
                        for (int a = 0; a < nx; a++) {
                            if (!feat[((size_t)c * ny + b) * nx + a]) continue;
                            double dx = (x - a) * sp[0], dy = (y - b) * sp[1], dz = (z - c) * sp[2];
                            best = fmin(best, dx * dx + dy * dy + dz * dz);
                        }
                double got = d[((size_t)z * ny + y) * nx + x];
                if (isinf(best)) assert_true(isinf(got));
                else assert_true(fabs(got - best) <= 1e-9 * (1 + best));
            }
    free(r);
    free(feat);
    free(d);
}

static void test_edt_brute_force(void **state)
{
    (void)state;
    check_edt(9, 7, 5, (double[]){1.3, 0.7, 5.0}, 5, 1);
    check_edt(13, 11, 1, (double[]){0.9, 1.6, 1.0}, 3, 2);
    check_edt(6, 17, 4, (double[]){2.0, 0.5, 1.0}, 1, 3);    /* a few features only */
    check_edt(5, 4, 3, (double[]){1.0, 1.0, 1.0}, 0, 4);     /* none: all infinite */
    check_edt(5, 4, 3, (double[]){1.0, 2.0, 3.0}, 100, 5);   /* all: all zero */
}

static void test_percentile(void **state)
{
    (void)state;
    /* numpy.percentile([4, 1, 3, 2], 95) = 3.85; of one value, that value */
    double x[4] = {4, 1, 3, 2}, y[1] = {7};
    assert_true(fabs(percentile_linear(x, 4, 95) - 3.85) < 1e-12);
    assert_true(percentile_linear(y, 1, 95) == 7);
}

static void test_empty_masks(void **state)
{
    (void)state;
    uint8_t p[4 * 3 * 2] = {0}, g[4 * 3 * 2] = {0};
    const int dim[4] = {4, 3, 2, 1};
    SurfaceScore s;
    surface_score(p, g, dim, (double[]){1, 1, 1}, 1, &s);
    assert_true(s.dice == 1 && s.hd95 == 0 && s.assd == 0);
    g[5] = 1;
    surface_score(p, g, dim, (double[]){1, 1, 1}, 1, &s);
    assert_true(s.dice == 0 && isnan(s.hd95) && isnan(s.assd));
}

static void test_against_scipy(void **state)
{
    (void)state;
    char cmd[8192], out[8192];
    if (!test_python_has("nibabel, scipy")) skip();
    const char *d = test_dir();
    snprintf(cmd, sizeof cmd, "%s tests/data/surface_cases.py %s/sc", test_python(), d);
    assert_int_equal(run_command(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "%s eval --pred %s/sc/pred --gt %s/sc/gt -o %s/sc/got.csv",
             reusenet_program(), d, d, d);
    int rc = run_command(cmd, out, sizeof out);
    print_message("%s", out);
    assert_int_equal(rc, 0);
    CsvTable want, got;
    snprintf(cmd, sizeof cmd, "%s/sc/expected.csv", d);
    assert_int_equal(csv_read(cmd, &want), 0);
    snprintf(cmd, sizeof cmd, "%s/sc/got.csv", d);
    assert_int_equal(csv_read(cmd, &got), 0);
    assert_int_equal(want.n_rows, got.n_rows);
    assert_int_equal(got.n_cols, 5);
    int undefined = 0;
    for (int r = 0; r < want.n_rows; r++) {
        assert_string_equal(want.rows[r][0], got.rows[r][0]);
        assert_string_equal(want.rows[r][1], got.rows[r][1]);
        for (int c = 2; c < 5; c++) {
            double a = csv_number(&want, r, c), b = csv_number(&got, r, c);
            if (isnan(a)) {
                assert_true(isnan(b));
                undefined++;
                continue;
            }
            if (fabs(a - b) > 1e-5 * (1 + fabs(a)))
                fail_msg("%s class %s column %s: SciPy %.9g, reusenet %.9g", want.rows[r][0],
                         want.rows[r][1], want.header[c], a, b);
        }
    }
    assert_true(undefined > 0);     /* the empty-mask rule is exercised */
    csv_free(&want);
    csv_free(&got);
}

TEST_MAIN("surface metrics", test_dir_setup, test_dir_teardown,
          test_edt_brute_force, test_percentile, test_empty_masks, test_against_scipy)
