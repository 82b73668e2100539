/* A folder that appears whole or not at all (a generated or imported dataset): its files
 * are written into a temporary folder beside it, synced once, and renamed into place.
 *
 *     char *tmp = staged_dir_begin("out");        // NULL (error set): out is not empty
 *     ... write files under tmp, straight (no per-file fsync) ...
 *     return staged_dir_commit(tmp, "out");       // or staged_dir_abort(tmp) on failure
 *
 * The destination must not exist or be an empty folder (rename(2) replaces an empty
 * folder only), so nothing is ever written over existing files, an input included. */
#ifndef REUSENET_STAGED_DIR_H
#define REUSENET_STAGED_DIR_H

/* Check dir and create "<dir>.tmp-XXXXXX" beside it (mode 0755); the path (caller passes
 * it to commit or abort), or NULL with a message naming dir. */
char *staged_dir_begin(const char *dir);
/* Sync the tree and rename it to dir. 0, or -1 (message set; the temporary tree removed).
 * Frees tmp. */
int staged_dir_commit(char *tmp, const char *dir);
/* Remove the temporary tree; frees tmp. Accepts NULL. */
void staged_dir_abort(char *tmp);

#endif
