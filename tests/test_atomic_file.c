/* atomic_file: a commit replaces the destination completely, an abort or a failed write
 * leaves it untouched, and no temporary file is ever left behind. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/atomic_file.h"
#include "engine/error.h"
#include "engine/fsutil.h"
#include "tests/testutil.h"

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void write_text(const char *path, const char *text)
{
    AtomicFile *af = atomic_open(path);
    assert_non_null(af);
    fputs(text, atomic_stream(af));
    assert_int_equal(atomic_commit(af), 0);
}

static void assert_file_text(const char *path, const char *text)
{
    char buf[256] = {0};
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    assert_int_equal(n, strlen(text));
    assert_string_equal(buf, text);
}

static void test_commit_and_replace(void **state)
{
    (void)state;
    char *dir = make_temp_dir("atomic");
    char *path = fs_join(dir, "out.bin");
    mode_t old = umask(022);
    write_text(path, "first version");
    assert_file_text(path, "first version");
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0644);          /* the umask decides, as with fopen */
    write_text(path, "second");
    assert_file_text(path, "second");
    assert_int_equal(count_entries(dir), 1);            /* no temporary left */
    umask(old);

    /* A relative name (no directory part) works too. */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    write_text("rel.bin", "relative");
    assert_int_equal(chdir(cwd), 0);
    char *rel = fs_join(dir, "rel.bin");
    assert_file_text(rel, "relative");
    unlink(rel);
    unlink(path);
    rmdir(dir);
    free(rel);
    free(path);
    free(dir);
}

static void test_abort_keeps_old_file(void **state)
{
    (void)state;
    char *dir = make_temp_dir("atomic-abort");
    char *path = fs_join(dir, "keep.bin");
    write_text(path, "precious");
    AtomicFile *af = atomic_open(path);
    assert_non_null(af);
    fputs("half a checkpo", atomic_stream(af));
    assert_int_equal(count_entries(dir), 2);            /* the temporary, beside it */
    atomic_abort(af);
    atomic_abort(NULL);
    assert_file_text(path, "precious");
    assert_int_equal(count_entries(dir), 1);
    unlink(path);
    rmdir(dir);
    free(path);
    free(dir);
}

static void test_open_errors_name_the_file(void **state)
{
    (void)state;
    char *dir = make_temp_dir("atomic-err");
    char *path = fs_join(dir, "no/such/dir/w.safetensors");
    assert_null(atomic_open(path));
    assert_non_null(strstr(error_get(), path));
    assert_non_null(strstr(error_get(), "No such file or directory"));
    assert_null(atomic_open(""));
    char *slash = fs_join(dir, "");
    assert_null(atomic_open(slash));
    assert_non_null(strstr(error_get(), "not a file name"));

    /* The destination is a directory: refused before anything is written. */
    char *sub = fs_join(dir, "sub");
    assert_int_equal(mkdir(sub, 0755), 0);
    char *inner = fs_join(sub, "x");
    write_text(inner, "x");
    assert_null(atomic_open(sub));
    assert_non_null(strstr(error_get(), sub));
    assert_non_null(strstr(error_get(), "is a directory"));
    assert_int_equal(count_entries(dir), 1);
    unlink(inner);
    rmdir(sub);
    rmdir(dir);
    free(inner); free(sub); free(slash); free(path); free(dir);
}

/* A write that fails half-way (file size limit, like a full disk) must leave the old
 * file intact. Runs in a child so the limit does not affect the test program. */
static const char *limited_path;

static void write_past_limit(void *arg)
{
    (void)arg;
    signal(SIGXFSZ, SIG_IGN);                 /* get EFBIG instead of being killed */
    struct rlimit lim = {4096, 4096};
    setrlimit(RLIMIT_FSIZE, &lim);
    AtomicFile *af = atomic_open(limited_path);
    if (!af) _exit(0);
    static char big[100000];
    fwrite(big, 1, sizeof big, atomic_stream(af));
    if (atomic_commit(af) == 0) _exit(0);     /* success would be the bug */
    fprintf(stderr, "%s\n", error_get());
    _exit(1);
}

static void test_failed_write_keeps_old_file(void **state)
{
    (void)state;
    char *dir = make_temp_dir("atomic-full");
    char *path = fs_join(dir, "model.safetensors");
    write_text(path, "old checkpoint");
    limited_path = path;
    assert_exits_with_message(write_past_limit, NULL, "cannot write");
    assert_file_text(path, "old checkpoint");
    assert_int_equal(count_entries(dir), 1);
    unlink(path);
    rmdir(dir);
    free(path);
    free(dir);
}

/* fs_write_text: the text and one final newline (added only when missing), atomically or
 * straight; a folder that does not exist is named in the message. */
static void test_write_text(void **state)
{
    (void)state;
    char *dir = make_temp_dir("write-text");
    char *path = fs_join(dir, "a.json");
    for (int atomic = 0; atomic <= 1; atomic++) {
        assert_int_equal(fs_write_text(path, "{\n}", atomic), 0);
        assert_file_text(path, "{\n}\n");
        assert_int_equal(fs_write_text(path, "x: 1\n", atomic), 0);
        assert_file_text(path, "x: 1\n");
        assert_int_equal(fs_write_text(path, "", atomic), 0);
        assert_file_text(path, "\n");
        assert_int_equal(count_entries(dir), 1);
    }
    char *missing = fs_join(dir, "no/such.txt");
    for (int atomic = 0; atomic <= 1; atomic++) {
        assert_int_equal(fs_write_text(missing, "x", atomic), -1);
        assert_non_null(strstr(error_get(), dir));
    }
    free(missing);
    free(path);
    assert_int_equal(remove_tree(dir), 0);
    free(dir);
}

/* A replaced file keeps its permission bits (0600 stays 0600, whatever the umask). */
static void test_mode_kept(void **state)
{
    (void)state;
    char *dir = make_temp_dir("atomic-mode");
    char *path = fs_join(dir, "secret.safetensors");
    mode_t old = umask(022);
    write_text(path, "v1");
    const mode_t modes[] = {0600, 0640, 0664, 0444};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(chmod(path, modes[i]), 0);
        write_text(path, "v2");
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, modes[i]);
        assert_file_text(path, "v2");
    }
    umask(old);
    assert_int_equal(remove_tree(dir), 0);
    free(path);
    free(dir);
}

/* A symbolic link stays a link and its target gets the new contents; a link to a missing
 * file is refused. */
static void test_symlink_target_replaced(void **state)
{
    (void)state;
    char *dir = make_temp_dir("atomic-link");
    char *target = fs_join(dir, "real.bin"), *link = fs_join(dir, "link.bin");
    write_text(target, "old");
    assert_int_equal(chmod(target, 0600), 0);
    assert_int_equal(symlink("real.bin", link), 0);
    write_text(link, "through the link");
    struct stat sb;
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    assert_file_text(target, "through the link");
    assert_int_equal(stat(target, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(count_entries(dir), 2);

    char *dangling = fs_join(dir, "dangling.bin");
    assert_int_equal(symlink("missing/none.bin", dangling), 0);
    assert_null(atomic_open(dangling));
    assert_non_null(strstr(error_get(), "symbolic link to a missing file"));
    assert_int_equal(lstat(dangling, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    assert_int_equal(remove_tree(dir), 0);
    free(dangling); free(link); free(target); free(dir);
}

/* A character device is written through and stays a device: /dev/null takes the bytes,
 * /dev/full reports its full disk. */
static void test_device_written_through(void **state)
{
    (void)state;
    struct stat sb;
    write_text("/dev/null", "discarded");
    assert_int_equal(stat("/dev/null", &sb), 0);
    assert_true(S_ISCHR(sb.st_mode));
    if (stat("/dev/full", &sb) == 0 && S_ISCHR(sb.st_mode)) {
        AtomicFile *af = atomic_open("/dev/full");
        assert_non_null(af);
        static char big[100000];
        fwrite(big, 1, sizeof big, atomic_stream(af));
        assert_int_equal(atomic_commit(af), -1);
        assert_non_null(strstr(error_get(), "cannot write /dev/full"));
        assert_int_equal(stat("/dev/full", &sb), 0);
        assert_true(S_ISCHR(sb.st_mode));
    }
}

/* A FIFO is written through: its reader gets the bytes, and it is still a FIFO. */
static void test_fifo_written_through(void **state)
{
    (void)state;
    char *dir = make_temp_dir("atomic-fifo");
    char *fifo = fs_join(dir, "pipe");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {                           /* the reader: exit 0 iff it got the text */
        char buf[64] = {0};
        FILE *f = fopen(fifo, "rb");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        _exit(n == 12 && !strcmp(buf, "through fifo") ? 0 : 1);
    }
    write_text(fifo, "through fifo");
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct stat sb;
    assert_int_equal(lstat(fifo, &sb), 0);
    assert_true(S_ISFIFO(sb.st_mode));
    assert_int_equal(count_entries(dir), 1);
    assert_int_equal(remove_tree(dir), 0);
    free(fifo);
    free(dir);
}

/* atomic_remove_stale removes only our pattern, only regular files, only of dead writers. */
static void test_remove_stale(void **state)
{
    (void)state;
    char *dir = make_temp_dir("atomic-stale");
    pid_t dead = fork();
    assert_true(dead >= 0);
    if (dead == 0) _exit(0);
    assert_int_equal(waitpid(dead, NULL, 0), dead);
    char name[256];
    snprintf(name, sizeof name, ".last.safetensors.tmp.%ld.0123", (long)dead);
    write_text(path_in(dir, "%s", name), "stale");
    snprintf(name, sizeof name, ".log.csv.tmp.%ld.7", (long)dead);
    write_text(path_in(dir, "%s", name), "stale");
    snprintf(name, sizeof name, ".best.safetensors.tmp.%ld.5", (long)getpid());   /* alive */
    write_text(path_in(dir, "%s", name), "live");
    snprintf(name, sizeof name, ".x.tmp.%ld.5", (long)getppid());                /* alive */
    write_text(path_in(dir, "%s", name), "live");
    const char *keep[] = {"last.safetensors", ".tmp.1.2", "..tmp.99999999.1", "a.tmp.99999999.1",
                          ".a.tmp.99999999.", ".a.tmp..1", ".a.tmp.x9.1", ".a.tmp.99999999.1x"};
    for (int i = 0; i < 8; i++) write_text(path_in(dir, "%s", keep[i]), "user's");
    snprintf(name, sizeof name, ".d.tmp.%ld.1", (long)dead);                     /* a folder */
    assert_int_equal(mkdir(path_in(dir, "%s", name), 0755), 0);
    assert_int_equal(count_entries(dir), 13);
    assert_int_equal(atomic_remove_stale(dir), 2);
    assert_int_equal(count_entries(dir), 11);
    for (int i = 0; i < 8; i++) assert_file_text(path_in(dir, "%s", keep[i]), "user's");
    assert_int_equal(atomic_remove_stale(dir), 0);
    assert_int_equal(atomic_remove_stale(path_in(dir, "none")), -1);
    assert_int_equal(remove_tree(dir), 0);
    free(dir);
}

TEST_MAIN("atomic file", NULL, NULL,
          test_commit_and_replace, test_abort_keeps_old_file, test_open_errors_name_the_file,
          test_failed_write_keeps_old_file, test_write_text, test_mode_kept,
          test_symlink_target_replaced, test_device_written_through, test_fifo_written_through,
          test_remove_stale)
