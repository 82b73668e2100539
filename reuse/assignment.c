#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "engine/error.h"
#include "reuse/assignment.h"

/* Rows and columns 1..n; column 0 is a sentinel that holds the row being added. p[j] is the
 * row matched to column j, way[j] the previous column on the shortest path to j. */
double assignment_min(int n, const double *cost, int *col)
{
    if (n <= 0) return 0;
    const size_t m = (size_t)n + 1;
    double *u = xcalloc(m, sizeof *u), *v = xcalloc(m, sizeof *v), *minv = xmalloc(m * sizeof *minv);
    int *p = xcalloc(m, sizeof *p), *way = xcalloc(m, sizeof *way);
    bool *used = xmalloc(m * sizeof *used);
    for (int i = 1; i <= n; i++) {
        p[0] = i;
        int j0 = 0;
        for (int j = 0; j <= n; j++) {
            minv[j] = INFINITY;
            used[j] = false;
        }
        do {                                   /* Dijkstra step from column j0 */
            used[j0] = true;
            const int i0 = p[j0];
            const double *row = cost + (size_t)(i0 - 1) * n;
            double delta = INFINITY;
            int j1 = 0;
            for (int j = 1; j <= n; j++) {
                if (used[j]) continue;
                double cur = row[j - 1] - u[i0] - v[j];
                if (cur < minv[j]) {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if (minv[j] < delta) {
                    delta = minv[j];
                    j1 = j;
                }
            }
            CHECK(j1 > 0, "assignment: cost matrix is not finite");
            for (int j = 0; j <= n; j++) {     /* keep reduced costs >= 0 */
                if (used[j]) {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
        } while (p[j0] != 0);
        do {                                   /* augment along the path */
            int j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0);
    }
    double total = 0;
    for (int j = 1; j <= n; j++) {
        col[p[j] - 1] = j - 1;
        total += cost[(size_t)(p[j] - 1) * n + j - 1];
    }
    free(u);
    free(v);
    free(minv);
    free(p);
    free(way);
    free(used);
    return total;
}

double assignment_max(int n, const double *score, int *col)
{
    const size_t nn = (size_t)n * (size_t)n;
    double *neg = xmalloc((nn ? nn : 1) * sizeof *neg);
    for (size_t i = 0; i < nn; i++) neg[i] = -score[i];
    double total = -assignment_min(n, neg, col);
    free(neg);
    return total;
}
