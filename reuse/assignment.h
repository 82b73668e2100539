/* The linear assignment problem: given an n x n cost matrix, the permutation col[] that
 * minimises sum_i cost[i][col[i]] (weight matching's inner step, reuse/align.c).
 *
 * Solved exactly by shortest augmenting paths with row and column potentials (Jonker and
 * Volgenant 1987; the O(n^3) form of the Hungarian method, Kuhn-Munkres): one row is added
 * at a time and joined by a Dijkstra search on the reduced costs cost[i][j] - u[i] - v[j],
 * which stay >= 0. tests/test_predictors.c checks it against
 * scipy.optimize.linear_sum_assignment. */
#ifndef REUSENET_ASSIGNMENT_H
#define REUSENET_ASSIGNMENT_H

/* cost: n x n row-major, finite. col[i] receives row i's column. Returns the total cost. */
double assignment_min(int n, const double *cost, int *col);
/* The permutation that maximises sum_i score[i][col[i]]; returns that sum. */
double assignment_max(int n, const double *score, int *col);

#endif
