/* state: an address file whose scheduler is known to be gone
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
	TCase *tc = tcase_create("address");
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
