/* state: a fresh token for every scheduler start (state_token_renew), and
 * an address file whose scheduler is known to be gone
 * (state_address_stale). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state/state.h"

static char tmpdir[] = "/tmp/check_state_fresh.XXXXXX";
static struct strbuf dir;

static void setup(void)
{
	char home[256];
	struct err err;

	strcpy(tmpdir, "/tmp/check_state_fresh.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	umask(022);
	snprintf(home, sizeof(home), "%s/home", tmpdir);
	ck_assert_int_eq(setenv("CLUSTER_HOME", home, 1), 0);
	strbuf_init(&dir, 0);
	ck_assert_msg(state_dir("c1", 1, &dir, &err) == 0, "%s", err.text);
}

static void teardown(void)
{
	char cmd[128];

	strbuf_release(&dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

static void path_of(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir.buf, name);
}

static int count_entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(dp);
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(dp);
	return n;
}

/* No "token.tmp.*" left beside the token. */
static int temp_files(void)
{
	DIR *dp = opendir(dir.buf);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(dp);
	while ((e = readdir(dp)))
		if (strstr(e->d_name, ".tmp."))
			n++;
	closedir(dp);
	return n;
}

static void file_text(const char *path, char *out, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, out, size - 1);
	ck_assert_int_ge(n, 0);
	out[n] = '\0';
	close(fd);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void hostname(char out[256])
{
	ck_assert_int_eq(gethostname(out, 256), 0);
	out[255] = '\0';
}

/* The pid of a process that has ended and been reaped. */
static long dead_pid(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	return (long)pid;
}

/* --- the fresh token ----------------------------------------------------- */

START_TEST(test_renew_creates)
{
	char token[65], again[65], path[512], text[128];
	struct stat st;
	struct err err;

	umask(0);	/* the mode must not depend on the umask */
	ck_assert_msg(state_token_renew(dir.buf, token, &err) == 0, "%s", err.text);
	ck_assert_uint_eq(strlen(token), 64);
	ck_assert_uint_eq(strspn(token, "0123456789abcdef"), 64);
	path_of(path, sizeof(path), "token");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	file_text(path, text, sizeof(text));
	ck_assert_uint_eq(strlen(text), 65);
	ck_assert_int_eq(text[64], '\n');
	ck_assert_int_eq(memcmp(text, token, 64), 0);

	/* What a worker or the CLI then reads. */
	ck_assert_msg(state_token(dir.buf, 0, again, &err) == 0, "%s", err.text);
	ck_assert_str_eq(again, token);
	ck_assert_int_eq(temp_files(), 0);
}
END_TEST

START_TEST(test_renew_replaces)
{
	char first[65], second[65], third[65], path[512], text[128];
	struct stat before, after;
	struct err err;
	int old;

	ck_assert_int_eq(state_token(dir.buf, 1, first, &err), 0);
	path_of(path, sizeof(path), "token");
	ck_assert_int_eq(stat(path, &before), 0);
	old = open(path, O_RDONLY);
	ck_assert_int_ge(old, 0);

	ck_assert_msg(state_token_renew(dir.buf, second, &err) == 0, "%s", err.text);
	ck_assert_str_ne(second, first);
	ck_assert_int_eq(stat(path, &after), 0);
	ck_assert_uint_eq(after.st_mode & 07777, 0600);
	/* Replaced by a rename, not rewritten in place: the old file, still
	 * open, keeps the old token whole. */
	ck_assert(after.st_ino != before.st_ino);
	ck_assert_int_eq(read(old, text, sizeof(text) - 1), 65);
	ck_assert_int_eq(memcmp(text, first, 64), 0);
	close(old);
	ck_assert_int_eq(state_token(dir.buf, 0, third, &err), 0);
	ck_assert_str_eq(third, second);

	/* Every start draws anew; nothing but the token, the lock and logs/
	 * is left in the directory. */
	ck_assert_int_eq(state_token_renew(dir.buf, third, &err), 0);
	ck_assert_str_ne(third, second);
	ck_assert_int_eq(temp_files(), 0);
	ck_assert_int_eq(count_entries(dir.buf), 3);
}
END_TEST

START_TEST(test_renew_fixes_mode)
{
	char token[65], path[512];
	struct stat st;
	struct err err;

	/* A token others could read is refused by readers; a start replaces
	 * it with a private one. */
	path_of(path, sizeof(path), "token");
	write_file(path, "0000000000000000000000000000000000000000000000000000000000000000\n");
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(state_token(dir.buf, 0, token, &err), -1);
	ck_assert_msg(state_token_renew(dir.buf, token, &err) == 0, "%s", err.text);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_str_ne(token, "0000000000000000000000000000000000000000000000000000000000000000");
}
END_TEST

START_TEST(test_renew_keeps_running_schedulers_token)
{
	char token[65], kept[65], c;
	int ready[2], release[2];
	struct err err;
	pid_t pid;

	ck_assert_int_eq(state_token(dir.buf, 1, token, &err), 0);
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(release), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int held = state_lock(dir.buf, 1, NULL);

		if (write(ready[1], held >= 0 ? "y" : "n", 1) != 1)
			_exit(1);
		if (read(release[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	ck_assert_int_eq(c, 'y');

	/* Another process holds the lock: a scheduler runs with this token. */
	ck_assert_msg(state_token_renew(dir.buf, kept, &err) == 0, "%s", err.text);
	ck_assert_str_eq(kept, token);
	ck_assert_int_eq(state_token(dir.buf, 0, kept, &err), 0);
	ck_assert_str_eq(kept, token);

	/* Once it is gone, the next start draws a new one. */
	ck_assert_int_eq(write(release[1], "x", 1), 1);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_int_eq(state_token_renew(dir.buf, kept, &err), 0);
	ck_assert_str_ne(kept, token);
	close(ready[0]);
	close(ready[1]);
	close(release[0]);
	close(release[1]);
}
END_TEST

START_TEST(test_renew_without_lock)
{
	struct state_address a = { .port = 4000, .http_port = 4001 };
	char token[65], kept[65], path[512];
	struct err err;

	/* Where the lock cannot be taken (here its path is a directory), the
	 * address file says whether a scheduler may run. */
	path_of(path, sizeof(path), "lock");
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(state_token(dir.buf, 1, token, &err), 0);
	snprintf(a.host, sizeof(a.host), "127.0.0.1");
	a.pid = (long)getpid();
	ck_assert_int_eq(state_address_write(dir.buf, &a, &err), 0);
	ck_assert_msg(state_token_renew(dir.buf, kept, &err) == 0, "%s", err.text);
	ck_assert_str_eq(kept, token);

	/* Its scheduler died on this machine: renewed. */
	a.pid = dead_pid();
	ck_assert_int_eq(state_address_write(dir.buf, &a, &err), 0);
	ck_assert_int_eq(state_token_renew(dir.buf, kept, &err), 0);
	ck_assert_str_ne(kept, token);

	/* No address at all: renewed. */
	ck_assert_int_eq(state_address_remove(dir.buf), 0);
	ck_assert_int_eq(state_token_renew(dir.buf, token, &err), 0);
	ck_assert_str_ne(kept, token);
	ck_assert_int_eq(temp_files(), 0);
}
END_TEST

START_TEST(test_renew_fails_cleanly)
{
	char token[65] = "untouched", path[512];
	struct err err = { "" };

	/* A token path that cannot be replaced: an error naming it. */
	path_of(path, sizeof(path), "token");
	ck_assert_int_eq(mkdir(path, 0700), 0);
	path_of(path, sizeof(path), "token/x");
	write_file(path, "x");
	ck_assert_int_eq(state_token_renew(dir.buf, token, &err), -1);
	ck_assert_msg(strstr(err.text, "token"), "%s", err.text);
	ck_assert_str_eq(token, "untouched");
	ck_assert_int_eq(temp_files(), 0);
}
END_TEST

/* --- a scheduler known to be gone ---------------------------------------- */

START_TEST(test_address_records_node)
{
	struct state_address a = { .port = 4000, .http_port = 4001, .pid = 77 };
	struct state_address b;
	char me[256], path[512];
	struct err err;
	json_error_t jerr;
	json_t *obj;

	hostname(me);
	snprintf(a.host, sizeof(a.host), "127.0.0.1");
	snprintf(a.node, sizeof(a.node), "not-read-on-write");
	ck_assert_int_eq(state_address_write(dir.buf, &a, &err), 0);
	ck_assert_msg(state_address_read(dir.buf, &b, &err) == 0, "%s", err.text);
	ck_assert_str_eq(b.node, me);
	ck_assert_str_eq(b.host, "127.0.0.1");
	path_of(path, sizeof(path), "address");
	obj = json_load_file(path, 0, &jerr);
	ck_assert_ptr_nonnull(obj);
	ck_assert_str_eq(json_string_value(json_object_get(obj, "node")), me);
	json_decref(obj);

	/* Older files have no node; a node must be a string. */
	write_file(path, "{\"host\": \"h\", \"port\": 5, \"http_port\": 6, \"pid\": 3}");
	ck_assert_int_eq(state_address_read(dir.buf, &b, &err), 0);
	ck_assert_str_eq(b.node, "");
	write_file(path, "{\"host\": \"h\", \"port\": 5, \"http_port\": 6, \"pid\": 3, \"node\": 1}");
	ck_assert_int_eq(state_address_read(dir.buf, &b, &err), -1);
	ck_assert_msg(strstr(err.text, "'node'"), "%s", err.text);
}
END_TEST

START_TEST(test_stale)
{
	struct state_address a = { .port = 4000, .http_port = 4001 };
	char me[256];

	hostname(me);
	snprintf(a.host, sizeof(a.host), "127.0.0.1");
	snprintf(a.node, sizeof(a.node), "%s", me);

	a.pid = (long)getpid();
	ck_assert_int_eq(state_address_stale(&a), 0);	/* running: us */
	a.pid = 1;
	ck_assert_int_eq(state_address_stale(&a), 0);	/* running: init */
	a.pid = dead_pid();
	ck_assert_int_eq(state_address_stale(&a), 1);

	/* Another machine's pid says nothing here. */
	snprintf(a.node, sizeof(a.node), "elsewhere-%.200s", me);
	ck_assert_int_eq(state_address_stale(&a), 0);

	/* A file without a node: its host, when it is this machine's name. */
	a.node[0] = '\0';
	ck_assert_int_eq(state_address_stale(&a), 0);	/* 127.0.0.1 */
	snprintf(a.host, sizeof(a.host), "%s", me);
	ck_assert_int_eq(state_address_stale(&a), 1);

	a.pid = 0;
	ck_assert_int_eq(state_address_stale(&a), 0);
}
END_TEST

static Suite *state_fresh_suite(void)
{
	Suite *s = suite_create("state_fresh");
	TCase *tc = tcase_create("token");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_renew_creates);
	tcase_add_test(tc, test_renew_replaces);
	tcase_add_test(tc, test_renew_fixes_mode);
	tcase_add_test(tc, test_renew_keeps_running_schedulers_token);
	tcase_add_test(tc, test_renew_without_lock);
	tcase_add_test(tc, test_renew_fails_cleanly);
	suite_add_tcase(s, tc);

	tc = tcase_create("address");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_address_records_node);
	tcase_add_test(tc, test_stale);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(state_fresh_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
