/* Small file-system helpers: folders for commands that write into them, and whole files
 * for the readers that parse from memory (so that a fuzz target drives the same code). */
#ifndef REUSENET_FSUTIL_H
#define REUSENET_FSUTIL_H

#include <stddef.h>

/* mkdir -p: create path and any missing parents. 0, or -1 with a message naming path. */
int make_dirs(const char *path);

/* "a/b" from a and b (no doubled '/'); caller frees. */
char *fs_join(const char *a, const char *b);
/* Write text as the whole file at path, with a final newline added when text lacks one
 * (cJSON_Print's output). atomic: through atomic_file.h (temporary file, fsync, rename);
 * 0: straight to path, for a caller that fills a fresh folder and publishes the folder as
 * a whole (datasets/synth.c; nifti_write alike). 0, or -1 with a message naming path. */
int fs_write_text(const char *path, const char *text, int atomic);
int fs_is_dir(const char *path);
int fs_is_file(const char *path);       /* a regular file */
int fs_has_suffix(const char *s, const char *suffix);
/* "runs/acdc-seg.safetensors" -> "acdc-seg" (at most len - 1 characters). */
void fs_path_stem(const char *path, char *out, size_t len);
/* Whether a and b name the same existing file or folder (device and inode: another
 * spelling of the path, a symbolic or a hard link all count). */
int fs_same_file(const char *a, const char *b);
/* A command's check that it will not write over what it reads: 0 when `output` is none of
 * the n inputs (NULL entries skipped), else -1 with "OUTPUT: is the input INPUT; give
 * another output name". */
int fs_check_output(const char *output, const char *const *inputs, int n);
/* Names in dir (no hidden entries), directories (want_dirs) or regular files, in natural
 * order ("P2" before "P10"). Returns the count, or -1 with a message; free with
 * free_strings (error.h). */
int fs_list(const char *dir, int want_dirs, char ***out);
/* Read the regular file path whole into *data (malloc'd, NUL-terminated after *size bytes;
 * free() it). 0, or -1 with a message naming path (not a regular file, read error). */
int read_whole_file(const char *path, char **data, size_t *size);

#endif
