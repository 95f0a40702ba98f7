/* Report files: written whole (temporary file, then rename), mode 0600,
 * never through a planted symlink, and a directory that cannot be written
 * costs a warning, never the program. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/output.h"
#include "stderr_capture.h"
#include "unit_assert.h"

static char base[] = "/tmp/poolwatch-output-XXXXXX";

static int make_base(void **state) {
  return mkdtemp(base) ? 0 : -1;
}

static int remove_base(void **state) {
  char command[128];
  snprintf(command, sizeof(command), "chmod -R u+rwx %s && rm -rf %s", base, base);
  return system(command) == 0 ? 0 : -1;
}

static char *path_in(const char *name) {
  static char path[8][512];
  static int next;
  char *p = path[next++ % 8];
  snprintf(p, sizeof(path[0]), "%s/%s", base, name);
  return p;
}

static char *read_whole(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  static char text[4096];
  size_t n = fread(text, 1, sizeof(text) - 1, f);
  text[n] = '\0';
  fclose(f);
  return text;
}

static void test_written_whole_with_mode_0600(void **state) {
  /* Even with a permissive umask: reports hold connection details. */
  mode_t old_umask = umask(0);
  const char *dir = path_in("reports/nested");
  ASSERT_TRUE(pw__write_file(dir, "poolwatch-1.json", "{\"a\": 1}\n", 9),
              "writing into a missing nested directory failed");
  umask(old_umask);
  const char *file = path_in("reports/nested/poolwatch-1.json");
  struct stat st;
  ASSERT_EQ(lstat(file, &st), 0);
  ASSERT_TRUE(S_ISREG(st.st_mode), "the report is not a regular file");
  ASSERT_TRUE((st.st_mode & 07777) == 0600, "the report has mode %04o, expected 0600",
              (unsigned)(st.st_mode & 07777));
  ASSERT_STR_EQ(read_whole(file), "{\"a\": 1}\n");
  ASSERT_EQ(stat(dir, &st), 0);
  ASSERT_TRUE((st.st_mode & 0077) == 0, "the created directory has mode %04o, open to others",
              (unsigned)(st.st_mode & 07777));
  /* No temporary file is left behind. */
  ASSERT_TRUE(access(path_in("reports/nested/.poolwatch-1.json.tmp"), F_OK) != 0,
              "the temporary file was left behind");
}

static void test_existing_report_is_replaced(void **state) {
  const char *dir = path_in("replace");
  ASSERT_TRUE(pw__write_file(dir, "r.txt", "old report, longer than the new\n", 32), "first write failed");
  ASSERT_TRUE(pw__write_file(dir, "r.txt", "new\n", 4), "second write failed");
  ASSERT_STR_EQ(read_whole(path_in("replace/r.txt")), "new\n");
}

static void test_symlink_at_final_name_is_not_followed(void **state) {
  const char *dir = path_in("links");
  ASSERT_EQ(mkdir(dir, 0700), 0);
  const char *victim = path_in("victim");
  FILE *f = fopen(victim, "w");
  ASSERT_TRUE(f != NULL, "cannot create %s", victim);
  fputs("precious\n", f);
  fclose(f);
  ASSERT_EQ(symlink(victim, path_in("links/poolwatch-2.json")), 0);

  ASSERT_TRUE(pw__write_file(dir, "poolwatch-2.json", "report\n", 7), "writing over a symlink failed");
  ASSERT_STR_EQ(read_whole(victim), "precious\n");
  struct stat st;
  ASSERT_EQ(lstat(path_in("links/poolwatch-2.json"), &st), 0);
  ASSERT_TRUE(S_ISREG(st.st_mode), "the symlink is still there");
  ASSERT_STR_EQ(read_whole(path_in("links/poolwatch-2.json")), "report\n");
}

static void test_symlink_at_temporary_name_is_not_followed(void **state) {
  const char *dir = path_in("templinks");
  ASSERT_EQ(mkdir(dir, 0700), 0);
  const char *victim = path_in("victim2");
  FILE *f = fopen(victim, "w");
  ASSERT_TRUE(f != NULL, "cannot create %s", victim);
  fputs("precious\n", f);
  fclose(f);
  ASSERT_EQ(symlink(victim, path_in("templinks/.poolwatch-3.json.tmp")), 0);

  ASSERT_TRUE(pw__write_file(dir, "poolwatch-3.json", "report\n", 7), "writing failed");
  ASSERT_STR_EQ(read_whole(victim), "precious\n");
  ASSERT_STR_EQ(read_whole(path_in("templinks/poolwatch-3.json")), "report\n");
}

/* Calls pw__write_file expecting failure: returns false, keeps errno, and
 * returns what it printed. */
static char *write_expecting_failure(const char *dir, const char *name) {
  stderr_capture capture;
  stderr_capture_begin(&capture);
  errno = ENOTTY;
  bool ok = pw__write_file(dir, name, "report\n", 7);
  int saved = errno;
  char *warnings = stderr_capture_end(&capture);
  ASSERT_TRUE(!ok, "writing into %s succeeded", dir);
  ASSERT_TRUE(saved == ENOTTY, "errno changed to %d (%s)", saved, strerror(saved));
  return warnings;
}

static void test_directory_that_cannot_be_created(void **state) {
  /* A regular file where a parent directory should be: fails for root too. */
  const char *file = path_in("plain-file");
  FILE *f = fopen(file, "w");
  ASSERT_TRUE(f != NULL, "cannot create %s", file);
  fclose(f);
  char *warnings = write_expecting_failure(path_in("plain-file/reports"), "poolwatch-4.json");
  ASSERT_EQ(count_lines_with(warnings, ""), 1);
  ASSERT_CONTAINS(warnings, "POOLWATCH_OUTPUT_DIR");
  free(warnings);
  ASSERT_TRUE(!pw__output_dir_ready(file), "a regular file was taken for a directory");
}

static void test_final_name_taken_by_a_directory(void **state) {
  const char *dir = path_in("taken");
  ASSERT_EQ(mkdir(dir, 0700), 0);
  ASSERT_EQ(mkdir(path_in("taken/poolwatch-5.json"), 0700), 0);
  free(write_expecting_failure(dir, "poolwatch-5.json"));
  ASSERT_TRUE(access(path_in("taken/.poolwatch-5.json.tmp"), F_OK) != 0,
              "the temporary file was left behind");
}

static void test_read_only_directory(void **state) {
  if (geteuid() == 0) skip(); /* root writes anywhere */
  const char *dir = path_in("read-only");
  ASSERT_EQ(mkdir(dir, 0500), 0);
  free(write_expecting_failure(dir, "poolwatch-6.json"));
  ASSERT_TRUE(access(path_in("read-only/poolwatch-6.json"), F_OK) != 0, "a file appeared anyway");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_written_whole_with_mode_0600),
    cmocka_unit_test(test_existing_report_is_replaced),
    cmocka_unit_test(test_symlink_at_final_name_is_not_followed),
    cmocka_unit_test(test_symlink_at_temporary_name_is_not_followed),
    cmocka_unit_test(test_directory_that_cannot_be_created),
    cmocka_unit_test(test_final_name_taken_by_a_directory),
    cmocka_unit_test(test_read_only_directory),
  };
  return cmocka_run_group_tests(tests, make_base, remove_base);
}
