/*
 * check_sysmem: the node's memory and the cgroup limit, from fake
 * /proc/meminfo, /proc/self/cgroup, /proc/self/mountinfo and cgroup trees
 * written under a temporary directory.
 */
#include <check.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/strbuf.h"
#include "util/sysmem.h"

#define GIB (1024ULL * 1024 * 1024)

static char tmp[64];

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/check_sysmem.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void teardown(void)
{
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *path_in(const char *name)
{
	static char buf[8][PATH_MAX];
	static int next;
	char *p = buf[next++ % 8];
	snprintf(p, PATH_MAX, "%s/%s", tmp, name);
	return p;
}

/* Write `text` to tmp/name, making its directories. */
static void put(const char *name, const char *text)
{
	char *path = path_in(name);
	for (char *s = path + strlen(tmp) + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot write '%s'", path);
	fputs(text, f);
	fclose(f);
}

static const char meminfo_24g[] =
	"MemTotal:       25165824 kB\n"
	"MemFree:         1000000 kB\n"
	"MemAvailable:   20000000 kB\n";

/* A mountinfo with the usual lines around the cgroup ones. */
static void put_mounts(const char *cgroup_lines)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
		      "23 22 0:21 / /proc rw,nosuid - proc proc rw\n");
	strbuf_addstr(&sb, cgroup_lines);
	strbuf_addstr(&sb, "50 22 0:40 / /tmp rw - tmpfs tmpfs rw\n");
	put("mountinfo", sb.buf);
	strbuf_release(&sb);
}

static struct sysmem read_ok(void)
{
	struct sysmem_files f = {
		.meminfo = path_in("meminfo"),
		.cgroup = path_in("cgroup"),
		.mountinfo = path_in("mountinfo"),
	};
	struct sysmem m;
	struct err err = { "" };

	memset(&m, 0xff, sizeof(m));
	ck_assert_msg(sysmem_read(&f, &m, &err) == 0, "%s", err.text);
	return m;
}

START_TEST(test_meminfo_only)
{
	put("meminfo", meminfo_24g);
	struct sysmem m = read_ok();

	ck_assert_uint_eq(m.total, 24 * GIB);
	ck_assert_uint_eq(m.limit, 0);
	ck_assert_uint_eq(m.usable, 24 * GIB);
	ck_assert_int_eq(m.cgroup_version, 0);
}
END_TEST

/* cgroup v2: the smallest memory.max on the way up counts. */
START_TEST(test_v2_limit)
{
	struct strbuf sb = STRBUF_INIT;

	put("meminfo", meminfo_24g);
	put("cgroup", "0::/system.slice/slurmstepd.scope/job_12/step_0\n");
	strbuf_addf(&sb, "30 22 0:26 / %s/cg2 rw,nosuid shared:4 - cgroup2 "
		    "cgroup2 rw,nsdelegate\n", tmp);
	put_mounts(sb.buf);
	put("cg2/system.slice/slurmstepd.scope/job_12/step_0/memory.max", "max\n");
	put("cg2/system.slice/slurmstepd.scope/job_12/memory.max", "4294967296\n");
	put("cg2/system.slice/slurmstepd.scope/memory.max", "max\n");
	put("cg2/system.slice/memory.max", "8589934592\n");

	struct sysmem m = read_ok();
	ck_assert_uint_eq(m.total, 24 * GIB);
	ck_assert_uint_eq(m.limit, 4 * GIB);
	ck_assert_uint_eq(m.usable, 4 * GIB);
	ck_assert_int_eq(m.cgroup_version, 2);

	/* A limit above the node's memory caps nothing. */
	put("cg2/system.slice/slurmstepd.scope/job_12/memory.max", "max\n");
	put("cg2/system.slice/memory.max", "107374182400\n");
	m = read_ok();
	ck_assert_uint_eq(m.limit, 100 * GIB);
	ck_assert_uint_eq(m.usable, 24 * GIB);

	/* No limit anywhere. */
	put("cg2/system.slice/memory.max", "max\n");
	m = read_ok();
	ck_assert_uint_eq(m.limit, 0);
	ck_assert_uint_eq(m.usable, 24 * GIB);
	ck_assert_int_eq(m.cgroup_version, 0);
	strbuf_release(&sb);
}
END_TEST

/* cgroup v1 memory controller beside a v2 hierarchy (hybrid): v1 holds
 * the controller, its "unlimited" number is no limit, and the v2 files
 * are not read. */
START_TEST(test_v1_limit)
{
	struct strbuf sb = STRBUF_INIT;

	put("meminfo", meminfo_24g);
	put("cgroup", "9:name=systemd:/\n"
	    "5:cpuset:/\n"
	    "4:memory,hugetlb:/pbspro.service/jobid/1234.server\n"
	    "0::/\n");
	strbuf_addf(&sb,
		    "31 22 0:27 / %s/v1/cpuset rw - cgroup cgroup rw,cpuset\n"
		    "32 22 0:28 / %s/v1/mem\\040ory rw - cgroup cgroup rw,memory,hugetlb\n"
		    "41 22 0:38 / %s/v2 rw - cgroup2 cgroup2 rw\n",
		    tmp, tmp, tmp);
	put_mounts(sb.buf);
	put("v1/mem ory/memory.limit_in_bytes", "9223372036854771712\n");
	put("v1/mem ory/pbspro.service/memory.limit_in_bytes",
	    "9223372036854771712\n");
	put("v1/mem ory/pbspro.service/jobid/1234.server/memory.limit_in_bytes",
	    "21474836480\n");
	put("v2/memory.max", "1073741824\n");

	struct sysmem m = read_ok();
	ck_assert_uint_eq(m.limit, 20 * GIB);
	ck_assert_uint_eq(m.usable, 20 * GIB);
	ck_assert_int_eq(m.cgroup_version, 1);

	put("v1/mem ory/pbspro.service/jobid/1234.server/memory.limit_in_bytes",
	    "9223372036854771712\n");
	m = read_ok();
	ck_assert_uint_eq(m.limit, 0);
	ck_assert_uint_eq(m.usable, 24 * GIB);
	strbuf_release(&sb);
}
END_TEST

/* A container: the mount's root is the process's own cgroup, so its
 * limit sits at the top of the mount. */
START_TEST(test_container_view)
{
	struct strbuf sb = STRBUF_INIT;

	put("meminfo", meminfo_24g);
	put("cgroup", "0::/docker/abc123\n");
	strbuf_addf(&sb, "30 22 0:26 /docker/abc123 %s/cg rw - cgroup2 "
		    "cgroup2 rw\n", tmp);
	put_mounts(sb.buf);
	put("cg/memory.max", "2147483648\n");
	struct sysmem m = read_ok();
	ck_assert_uint_eq(m.usable, 2 * GIB);

	/* A cgroup outside the mount's root: only the top is looked at. */
	put("cgroup", "0::/elsewhere/xyz\n");
	m = read_ok();
	ck_assert_uint_eq(m.usable, 2 * GIB);
	strbuf_release(&sb);
}
END_TEST

/* Without a readable MemTotal the OS's page count is used. */
START_TEST(test_meminfo_fallback)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

	put("meminfo", "MemFree: 12 kB\n");
	struct sysmem m = read_ok();
	ck_assert_uint_eq(m.total, (uint64_t)pages * (uint64_t)psz);
	unlink(path_in("meminfo"));
	m = read_ok();
	ck_assert_uint_eq(m.total, (uint64_t)pages * (uint64_t)psz);
	/* Bad cgroup files are no limit, not an error. */
	put("cgroup", "garbage\n");
	put("mountinfo", "garbage\n\n");
	m = read_ok();
	ck_assert_uint_eq(m.limit, 0);
}
END_TEST

/* The running system: MemTotal of the real /proc/meminfo. */
START_TEST(test_this_system)
{
	struct sysmem m;
	struct err err = { "" };
	struct strbuf sb = STRBUF_INIT;

	ck_assert_int_eq(sysmem_read(NULL, &m, &err), 0);
	ck_assert_int_eq(strbuf_read_file(&sb, "/proc/meminfo"), 0);
	const char *p = strstr(sb.buf, "MemTotal:");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(m.total, strtoull(p + 9, NULL, 10) * 1024);
	ck_assert(m.usable > 0 && m.usable <= m.total);
	strbuf_release(&sb);
}
END_TEST

static Suite *sysmem_suite(void)
{
	Suite *s = suite_create("sysmem");
	TCase *tc = tcase_create("sysmem");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_meminfo_only);
	tcase_add_test(tc, test_v2_limit);
	tcase_add_test(tc, test_v1_limit);
	tcase_add_test(tc, test_container_view);
	tcase_add_test(tc, test_meminfo_fallback);
	tcase_add_test(tc, test_this_system);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sysmem_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
