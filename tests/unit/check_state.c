#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state/state.h"

static char tmpdir[] = "/tmp/check_state.XXXXXX";

static void setup(void)
{
	strcpy(tmpdir, "/tmp/check_state.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	umask(022);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

static unsigned mode_of(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path,
		      strerror(errno));
	return st.st_mode & 07777;
}

static void set_home(const char *sub)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, sub);
	ck_assert_int_eq(setenv("CLUSTER_HOME", path, 1), 0);
}

/* A fresh cluster directory under the test's temp dir. */
static void make_cluster(struct strbuf *dir)
{
	struct err err;

	set_home("home");
	ck_assert_msg(state_dir("c1", 1, dir, &err) == 0, "%s", err.text);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* --- directory ----------------------------------------------------------- */

START_TEST(test_dir_create_modes)
{
	struct strbuf dir = STRBUF_INIT, want = STRBUF_INIT;
	struct err err;
	char path[512];

	umask(0);	/* modes must not depend on the umask */
	set_home("a/b/home");
	ck_assert_msg(state_dir("casper-1", 1, &dir, &err) == 0, "%s", err.text);
	strbuf_addf(&want, "%s/a/b/home/casper-1", tmpdir);
	ck_assert_str_eq(dir.buf, want.buf);
	ck_assert_uint_eq(mode_of(dir.buf), 0700);
	snprintf(path, sizeof(path), "%s/a/b/home", tmpdir);
	ck_assert_uint_eq(mode_of(path), 0700);
	snprintf(path, sizeof(path), "%s/logs", dir.buf);
	ck_assert_uint_eq(mode_of(path), 0700);

	/* Opening it again, with or without create, gives the same path. */
	strbuf_reset(&dir);
	ck_assert_int_eq(state_dir("casper-1", 1, &dir, &err), 0);
	ck_assert_str_eq(dir.buf, want.buf);
	strbuf_reset(&dir);
	ck_assert_int_eq(state_dir("casper-1", 0, &dir, &err), 0);
	ck_assert_str_eq(dir.buf, want.buf);
	strbuf_release(&dir);
	strbuf_release(&want);
}
END_TEST

START_TEST(test_dir_missing)
{
	struct strbuf dir = STRBUF_INIT;
	struct err err;
	char want[512];

	set_home("nothing-here");
	errno = 0;
	ck_assert_int_eq(state_dir("ghost", 0, &dir, &err), -1);
	ck_assert_int_eq(errno, ENOENT);
	snprintf(want, sizeof(want),
		 "no cluster 'ghost' (no state directory '%s/nothing-here/ghost')",
		 tmpdir);
	ck_assert_str_eq(err.text, want);
	ck_assert_uint_eq(dir.len, 0);
	strbuf_release(&dir);
}
END_TEST

START_TEST(test_dir_default_home)
{
	struct strbuf dir = STRBUF_INIT, want = STRBUF_INIT;
	struct err err;

	unsetenv("CLUSTER_HOME");
	ck_assert_int_eq(setenv("HOME", tmpdir, 1), 0);
	ck_assert_msg(state_dir("x", 1, &dir, &err) == 0, "%s", err.text);
	strbuf_addf(&want, "%s/.cluster/x", tmpdir);
	ck_assert_str_eq(dir.buf, want.buf);

	/* An empty CLUSTER_HOME counts as unset; a relative one is refused. */
	ck_assert_int_eq(setenv("CLUSTER_HOME", "", 1), 0);
	strbuf_reset(&dir);
	ck_assert_int_eq(state_dir("x", 0, &dir, &err), 0);
	ck_assert_str_eq(dir.buf, want.buf);
	ck_assert_int_eq(setenv("CLUSTER_HOME", "rel/dir", 1), 0);
	ck_assert_int_eq(state_dir("x", 1, &dir, &err), -1);
	ck_assert_str_eq(err.text, "CLUSTER_HOME 'rel/dir' is not an absolute path");
	strbuf_release(&dir);
	strbuf_release(&want);
}
END_TEST

START_TEST(test_dir_refuses_unsafe)
{
	struct strbuf dir = STRBUF_INIT;
	struct err err;
	char want[1024], base[512];

	make_cluster(&dir);
	ck_assert_int_eq(chmod(dir.buf, 0770), 0);
	ck_assert_int_eq(state_dir("c1", 0, &dir, &err), -1);
	snprintf(want, sizeof(want),
		 "state directory '%s' is writable by group or others: run chmod go-w '%s'",
		 dir.buf, dir.buf);
	ck_assert_str_eq(err.text, want);
	ck_assert_int_eq(chmod(dir.buf, 0702), 0);
	ck_assert_int_eq(state_dir("c1", 1, &dir, &err), -1);
	ck_assert_int_eq(chmod(dir.buf, 0755), 0);	/* readable is fine */
	strbuf_reset(&dir);
	ck_assert_msg(state_dir("c1", 0, &dir, &err) == 0, "%s", err.text);

	/* The base directory is held to the same rule. */
	snprintf(base, sizeof(base), "%s/home", tmpdir);
	ck_assert_int_eq(chmod(base, 0777), 0);
	ck_assert_int_eq(state_dir("c1", 0, &dir, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "chmod go-w"));
	ck_assert_int_eq(chmod(base, 0700), 0);

	/* Someone else's directory (the tests run as root, so chown works;
	 * as another user the check is skipped). */
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(dir.buf, 65534, 65534), 0);
		strbuf_reset(&dir);
		ck_assert_int_eq(state_dir("c1", 0, &dir, &err), -1);
		ck_assert_msg(strstr(err.text, "is owned by uid 65534, not by you (uid 0)"),
			      "%s", err.text);
	}
	strbuf_release(&dir);
}
END_TEST

START_TEST(test_bad_names)
{
	static const char *const bad[] = {
		"", ".", "..", "a/b", "../x", "a b", "tab\t", "semi;colon",
		"dollar$", "quote'", "é",
		"0123456789012345678901234567890123456789012345678901234567890123x",
	};
	static const char *const good[] = {
		"a", "casper", "my-cluster_1.2", "..x", "-dash", "A.B",
		"0123456789012345678901234567890123456789012345678901234567890123",
	};
	struct strbuf dir = STRBUF_INIT;
	struct err err;

	set_home("home");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		memset(&err, 0, sizeof(err));
		ck_assert_msg(state_dir(bad[i], 1, &dir, &err) == -1,
			      "accepted '%s'", bad[i]);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_msg(!strncmp(err.text, "cluster name", 12), "%s",
			      err.text);
		ck_assert_uint_eq(dir.len, 0);
	}
	ck_assert_int_eq(state_dir(NULL, 1, &dir, &err), -1);
	ck_assert_int_eq(state_dir("a b", 1, &dir, &err), -1);
	ck_assert_str_eq(err.text, "cluster name 'a b' has ' ': use letters, digits, '_', '.' and '-'");
	ck_assert_int_eq(state_dir("..", 1, &dir, &err), -1);
	ck_assert_str_eq(err.text, "cluster name '..' is not allowed");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		strbuf_reset(&dir);
		ck_assert_msg(state_dir(good[i], 1, &dir, &err) == 0,
			      "'%s': %s", good[i], err.text);
	}
	strbuf_release(&dir);
}
END_TEST

/* --- token --------------------------------------------------------------- */

START_TEST(test_token_create)
{
	struct strbuf dir = STRBUF_INIT;
	char token[65], again[65], path[512];
	struct err err;

	make_cluster(&dir);
	errno = 0;
	ck_assert_int_eq(state_token(dir.buf, 0, token, &err), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_nonnull(strstr(err.text, "no token file"));

	ck_assert_msg(state_token(dir.buf, 1, token, &err) == 0, "%s", err.text);
	ck_assert_uint_eq(strlen(token), 64);
	ck_assert_uint_eq(strspn(token, "0123456789abcdef"), 64);
	snprintf(path, sizeof(path), "%s/token", dir.buf);
	ck_assert_uint_eq(mode_of(path), 0600);

	/* The same token on every later read, created or not. */
	ck_assert_int_eq(state_token(dir.buf, 1, again, &err), 0);
	ck_assert_str_eq(token, again);
	ck_assert_int_eq(state_token(dir.buf, 0, again, &err), 0);
	ck_assert_str_eq(token, again);
	ck_assert_int_eq(count_entries(dir.buf), 2);	/* logs, token */

	/* A second cluster gets a different token. */
	{
		struct strbuf d2 = STRBUF_INIT;

		ck_assert_int_eq(state_dir("c2", 1, &d2, &err), 0);
		ck_assert_int_eq(state_token(d2.buf, 1, again, &err), 0);
		ck_assert_str_ne(token, again);
		strbuf_release(&d2);
	}
	strbuf_release(&dir);
}
END_TEST

START_TEST(test_token_refuses_readable)
{
	struct strbuf dir = STRBUF_INIT;
	char token[65], path[512], want[1200];
	struct err err;
	FILE *f;

	make_cluster(&dir);
	ck_assert_int_eq(state_token(dir.buf, 1, token, &err), 0);
	snprintf(path, sizeof(path), "%s/token", dir.buf);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(state_token(dir.buf, 1, token, &err), -1);
	snprintf(want, sizeof(want),
		 "token file '%s' can be read by group or others (mode 0644): run chmod 600 '%s'",
		 path, path);
	ck_assert_str_eq(err.text, want);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(state_token(dir.buf, 0, token, &err), -1);
	ck_assert_int_eq(chmod(path, 0400), 0);
	ck_assert_int_eq(state_token(dir.buf, 0, token, &err), 0);

	/* A malformed token is refused, not used. */
	ck_assert_int_eq(unlink(path), 0);
	f = fopen(path, "w");
	fputs("not-a-token\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(state_token(dir.buf, 1, token, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "is malformed: expected 64 hex characters"));

	/* A symlink in place of the token is refused. */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	ck_assert_int_eq(state_token(dir.buf, 1, token, &err), -1);
	strbuf_release(&dir);
}
END_TEST

START_TEST(test_token_race)
{
	struct strbuf dir = STRBUF_INIT;
	char token[65], path[512];
	int fds[2], n = 6;
	struct err err;

	make_cluster(&dir);
	ck_assert_int_eq(pipe(fds), 0);
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			char t[65];

			if (state_token(dir.buf, 1, t, NULL) < 0)
				_exit(1);
			if (write(fds[1], t, 64) != 64)
				_exit(1);
			_exit(0);
		}
	}
	close(fds[1]);
	for (int i = 0; i < n; i++) {
		int status;

		ck_assert_int_gt(wait(&status), 0);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	ck_assert_int_eq(state_token(dir.buf, 0, token, &err), 0);
	for (int i = 0; i < n; i++) {
		char got[65] = "";

		ck_assert_int_eq(read(fds[0], got, 64), 64);
		ck_assert_str_eq(got, token);
	}
	close(fds[0]);
	snprintf(path, sizeof(path), "%s/token", dir.buf);
	ck_assert_uint_eq(mode_of(path), 0600);
	ck_assert_int_eq(count_entries(dir.buf), 2);	/* no temp files left */
	strbuf_release(&dir);
}
END_TEST

/* --- address ------------------------------------------------------------- */

START_TEST(test_address_round_trip)
{
	struct strbuf dir = STRBUF_INIT, path = STRBUF_INIT;
	struct state_address a, b;
	json_error_t jerr;
	struct err err;
	json_t *obj;

	make_cluster(&dir);
	memset(&a, 0, sizeof(a));
	strcpy(a.host, "casper-login1.hpc.example.org");
	a.port = 40123;
	a.http_port = 8787;
	a.pid = 4242;
	ck_assert_msg(state_address_write(dir.buf, &a, &err) == 0, "%s", err.text);
	ck_assert_msg(state_address_read(dir.buf, &b, &err) == 0, "%s", err.text);
	ck_assert_str_eq(b.host, a.host);
	ck_assert_uint_eq(b.port, a.port);
	ck_assert_uint_eq(b.http_port, a.http_port);
	ck_assert_int_eq(b.pid, a.pid);

	strbuf_addf(&path, "%s/address", dir.buf);
	ck_assert_uint_eq(mode_of(path.buf), 0600);
	obj = json_load_file(path.buf, 0, &jerr);
	ck_assert_ptr_nonnull(obj);
	ck_assert_str_eq(json_string_value(json_object_get(obj, "url")),
			 "http://casper-login1.hpc.example.org:8787/");
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(obj, "started"))),
			  20);
	json_decref(obj);

	/* Overwrite in place, IPv6 host; no temp files are left behind. */
	strcpy(a.host, "::1");
	a.port = 1;
	a.http_port = 65535;
	ck_assert_int_eq(state_address_write(dir.buf, &a, &err), 0);
	ck_assert_int_eq(state_address_read(dir.buf, &b, &err), 0);
	ck_assert_str_eq(b.host, "::1");
	ck_assert_uint_eq(b.port, 1);
	ck_assert_uint_eq(b.http_port, 65535);
	obj = json_load_file(path.buf, 0, &jerr);
	ck_assert_str_eq(json_string_value(json_object_get(obj, "url")),
			 "http://[::1]:65535/");
	json_decref(obj);
	ck_assert_int_eq(count_entries(dir.buf), 2);	/* logs, address */

	/* Remove, then reading says so; removing twice is fine. */
	ck_assert_int_eq(state_address_remove(dir.buf), 0);
	errno = 0;
	ck_assert_int_eq(state_address_read(dir.buf, &b, &err), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_nonnull(strstr(err.text, "is the scheduler running?"));
	ck_assert_int_eq(state_address_remove(dir.buf), 0);

	/* Nothing to write without a host or port. */
	a.host[0] = '\0';
	ck_assert_int_eq(state_address_write(dir.buf, &a, &err), -1);
	strcpy(a.host, "h");
	a.port = 0;
	ck_assert_int_eq(state_address_write(dir.buf, &a, &err), -1);
	strbuf_release(&dir);
	strbuf_release(&path);
}
END_TEST

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_address_bad_files)
{
	struct strbuf dir = STRBUF_INIT, path = STRBUF_INIT;
	struct state_address b;
	struct err err;

	make_cluster(&dir);
	strbuf_addf(&path, "%s/address", dir.buf);

	write_file(path.buf, "{\"host\": \"h\",\n\"port\": }");
	ck_assert_int_eq(state_address_read(dir.buf, &b, &err), -1);
	ck_assert_msg(strstr(err.text, "line 2"), "%s", err.text);

	write_file(path.buf, "[1, 2]");
	ck_assert_int_eq(state_address_read(dir.buf, &b, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "not a JSON object"));

	write_file(path.buf, "{\"host\": \"h\", \"port\": 0, \"http_port\": 1, \"pid\": 3}");
	ck_assert_int_eq(state_address_read(dir.buf, &b, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "'port' 0 is not a port number"));

	write_file(path.buf, "{\"host\": \"h\", \"port\": 5, \"http_port\": 70000, \"pid\": 3}");
	ck_assert_int_eq(state_address_read(dir.buf, &b, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "'http_port' 70000 is not a port number"));

	write_file(path.buf, "{\"host\": \"h\", \"port\": 5, \"http_port\": 7, \"pid\": \"x\"}");
	ck_assert_int_eq(state_address_read(dir.buf, &b, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "'pid'"));

	write_file(path.buf, "{\"port\": 5, \"http_port\": 7, \"pid\": 3}");
	ck_assert_int_eq(state_address_read(dir.buf, &b, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "'host'"));

	write_file(path.buf, "{\"host\": \"h\", \"port\": 5, \"http_port\": 0, \"pid\": 3}");
	ck_assert_msg(state_address_read(dir.buf, &b, &err) == 0, "%s", err.text);
	ck_assert_uint_eq(b.http_port, 0);
	strbuf_release(&dir);
	strbuf_release(&path);
}
END_TEST

/* --- lock --------------------------------------------------------------- */

START_TEST(test_lock)
{
	struct strbuf dir = STRBUF_INIT;
	int ready[2], release[2], fd;
	struct err err;
	char c;
	pid_t pid;

	make_cluster(&dir);
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
		state_unlock(held);
		_exit(0);
	}
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	ck_assert_int_eq(c, 'y');

	/* Held elsewhere: refused at once without waiting. */
	errno = 0;
	ck_assert_int_eq(state_lock(dir.buf, 0, &err), -1);
	ck_assert_int_eq(errno, EWOULDBLOCK);
	ck_assert_ptr_nonnull(strstr(err.text, "is locked by another command"));

	/* Released: ours, and a waiting call gets it too. */
	ck_assert_int_eq(write(release[1], "x", 1), 1);
	ck_assert_int_gt(waitpid(pid, NULL, 0), 0);
	fd = state_lock(dir.buf, 1, &err);
	ck_assert_msg(fd >= 0, "%s", err.text);
	state_unlock(fd);
	fd = state_lock(dir.buf, 0, &err);
	ck_assert_int_ge(fd, 0);
	state_unlock(fd);
	state_unlock(-1);

	ck_assert_int_eq(state_lock("/nonexistent/dir", 0, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "cannot open lock file '/nonexistent/dir/lock'"));
	strbuf_release(&dir);
}
END_TEST

/* --- atomic writes ------------------------------------------------------- */

START_TEST(test_write_atomic)
{
	struct strbuf path = STRBUF_INIT, got = STRBUF_INIT;
	struct err err;

	umask(077);
	strbuf_addf(&path, "%s/file", tmpdir);
	ck_assert_int_eq(state_write_atomic(path.buf, "one\n", 4, 0644, &err), 0);
	ck_assert_int_eq(strbuf_read_file(&got, path.buf), 0);
	ck_assert_str_eq(got.buf, "one\n");
	ck_assert_uint_eq(mode_of(path.buf), 0644);

	/* Replacing keeps one file, with the new mode and content. */
	ck_assert_int_eq(state_write_atomic(path.buf, "two", 3, 0600, &err), 0);
	strbuf_reset(&got);
	ck_assert_int_eq(strbuf_read_file(&got, path.buf), 0);
	ck_assert_str_eq(got.buf, "two");
	ck_assert_uint_eq(mode_of(path.buf), 0600);
	ck_assert_int_eq(state_write_atomic(path.buf, "", 0, 0600, &err), 0);
	ck_assert_int_eq(count_entries(tmpdir), 1);

	/* A directory that is not there: an error naming the file. */
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/missing/file", tmpdir);
	ck_assert_int_eq(state_write_atomic(path.buf, "x", 1, 0600, &err), -1);
	ck_assert_msg(strstr(err.text, path.buf), "%s", err.text);
	ck_assert_int_eq(count_entries(tmpdir), 1);
	strbuf_release(&path);
	strbuf_release(&got);
}
END_TEST

static Suite *state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("dir");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_dir_create_modes);
	tcase_add_test(tc, test_dir_missing);
	tcase_add_test(tc, test_dir_default_home);
	tcase_add_test(tc, test_dir_refuses_unsafe);
	tcase_add_test(tc, test_bad_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_token_create);
	tcase_add_test(tc, test_token_refuses_readable);
	tcase_add_test(tc, test_token_race);
	tcase_add_test(tc, test_address_round_trip);
	tcase_add_test(tc, test_address_bad_files);
	tcase_add_test(tc, test_lock);
	tcase_add_test(tc, test_write_atomic);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(state_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
