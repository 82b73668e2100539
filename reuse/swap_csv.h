/* The swap scan's CSV file (reusenet swap writes it, swap_write_csv in swap.h; plan and the
 * report read it): its columns and rows as the readers check them. */
#ifndef REUSENET_SWAP_CSV_H
#define REUSENET_SWAP_CSV_H

#include "util/csv.h"

/* A scan CSV as its readers (plan, report) need it, whoever wrote it: the columns layer,
 * kind, tensor, mean and delta; one baseline row; every other row a layer number (1, 2, ...)
 * or "head", a kind RM RV RW RB W B and a tensor not named by another row; every column
 * after the first three numbers or empty. 0, or -1 with one line naming the file and row. */
int swap_csv_check(const CsvTable *t);

#endif
