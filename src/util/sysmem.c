#include "util/sysmem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/strbuf.h"

/* cgroup v1 writes a huge number (LONG_MAX rounded to pages) for "no
 * limit"; anything this large is no limit either. */
#define V1_UNLIMITED (1ULL << 62)

static uint64_t meminfo_total(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	uint64_t total = 0;

	if (strbuf_read_file(&sb, path) == 0) {
		const char *p = strstr(sb.buf, "MemTotal:");
		if (p && (p == sb.buf || p[-1] == '\n')) {
			char *end;
			errno = 0;
			unsigned long long kb = strtoull(p + 9, &end, 10);
			while (*end == ' ' || *end == '\t')
				end++;
			if (!errno && end > p + 9 && !strncmp(end, "kB", 2) &&
			    kb < UINT64_MAX / 1024)
				total = (uint64_t)kb * 1024;
		}
	}
	strbuf_release(&sb);
	return total;
}

/* Is `item` one of the comma-separated words of list[0..len)? */
static int has_item(const char *list, size_t len, const char *item)
{
	size_t n = strlen(item);
	const char *end = list + len;

	for (const char *p = list; p < end; ) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t l = comma ? (size_t)(comma - p) : (size_t)(end - p);
		if (l == n && !memcmp(p, item, n))
			return 1;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

/* The cgroup path of this process for v1's memory controller (version 1)
 * or the v2 hierarchy (version 2), from a /proc/self/cgroup text. */
static int cgroup_path(const char *text, int version, struct strbuf *out)
{
	for (const char *line = text; *line; ) {
		const char *nl = strchrnul(line, '\n');
		const char *c1 = memchr(line, ':', (size_t)(nl - line));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(nl - c1 - 1)) :
			NULL;
		if (c2) {
			int match = version == 1 ?
				has_item(c1 + 1, (size_t)(c2 - c1 - 1), "memory") :
				c1 - line == 1 && line[0] == '0' && c2 == c1 + 1;
			if (match) {
				strbuf_reset(out);
				strbuf_add(out, c2 + 1, (size_t)(nl - c2 - 1));
				return 0;
			}
		}
		line = *nl ? nl + 1 : nl;
	}
	return -1;
}

/* Append a mountinfo field, undoing its octal escapes (\040 for space). */
static void add_unescaped(struct strbuf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 3 < len &&
		    s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' &&
		    s[i + 3] >= '0' && s[i + 3] <= '7') {
			strbuf_addch(out, (s[i + 1] - '0') * 64 +
				     (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		} else {
			strbuf_addch(out, s[i]);
		}
	}
}

/* Find the mount of the v1 memory controller or of cgroup2 in a
 * /proc/self/mountinfo text: its root inside the hierarchy and its mount
 * point.  Fields: id parent dev root point options [tags...] - type
 * source superoptions. */
static int cgroup_mount(const char *text, int version, struct strbuf *root,
			struct strbuf *point)
{
	for (const char *line = text; *line; ) {
		const char *nl = strchrnul(line, '\n');
		const char *f[6] = { 0 }, *fe[6] = { 0 };
		const char *p = line;
		int n = 0;

		/* The first five fields, then look past the " - ". */
		while (n < 5 && p < nl) {
			while (p < nl && *p == ' ')
				p++;
			f[n] = p;
			while (p < nl && *p != ' ')
				p++;
			fe[n++] = p;
		}
		const char *dash = n == 5 ? strstr(p, " - ") : NULL;
		if (dash && dash < nl) {
			const char *type = dash + 3;
			const char *type_end = type;
			while (type_end < nl && *type_end != ' ')
				type_end++;
			const char *src = type_end < nl ? type_end + 1 : nl;
			const char *src_end = src;
			while (src_end < nl && *src_end != ' ')
				src_end++;
			const char *opts = src_end < nl ? src_end + 1 : nl;
			size_t tlen = (size_t)(type_end - type);
			int match = version == 1 ?
				tlen == 6 && !memcmp(type, "cgroup", 6) &&
				has_item(opts, (size_t)(nl - opts), "memory") :
				tlen == 7 && !memcmp(type, "cgroup2", 7);
			if (match) {
				strbuf_reset(root);
				strbuf_reset(point);
				add_unescaped(root, f[3], (size_t)(fe[3] - f[3]));
				add_unescaped(point, f[4], (size_t)(fe[4] - f[4]));
				return 0;
			}
		}
		line = *nl ? nl + 1 : nl;
	}
	return -1;
}

/* The limit in one file: 0 for none ("max", unreadable, not a number). */
static uint64_t read_limit(const char *path, int version)
{
	struct strbuf sb = STRBUF_INIT;
	uint64_t v = 0;

	if (strbuf_read_file(&sb, path) == 0) {
		char *end;
		strbuf_rtrim(&sb);
		errno = 0;
		unsigned long long x = strtoull(sb.buf, &end, 10);
		if (!errno && end > sb.buf && !*end && sb.buf[0] != '-' &&
		    !(version == 1 && x >= V1_UNLIMITED))
			v = x;
	}
	strbuf_release(&sb);
	return v;
}

/* The smallest limit on the cgroup or its ancestors, in one version's
 * hierarchy; 0 when none, or when that hierarchy is not in use. */
static uint64_t cgroup_limit(const char *cgroup_text, const char *mount_text,
			     int version)
{
	struct strbuf path = STRBUF_INIT, root = STRBUF_INIT;
	struct strbuf point = STRBUF_INIT, file = STRBUF_INIT;
	const char *name = version == 1 ? "memory.limit_in_bytes" : "memory.max";
	uint64_t best = 0;

	if (cgroup_path(cgroup_text, version, &path) < 0 ||
	    cgroup_mount(mount_text, version, &root, &point) < 0)
		goto out;
	/* The path as seen from the mount: strip the mount's root.  A cgroup
	 * outside it (a container's view) leaves only the mount's top. */
	const char *rel = path.buf;
	if (strcmp(root.buf, "/")) {
		size_t rl = root.len;
		if (!strncmp(rel, root.buf, rl) && (rel[rl] == '/' || !rel[rl]))
			rel += rl;
		else
			rel = "";
	}
	size_t rel_len = strlen(rel);
	while (rel_len > 0 && rel[rel_len - 1] == '/')
		rel_len--;
	for (;;) {
		strbuf_reset(&file);
		strbuf_addstr(&file, point.buf);
		strbuf_add(&file, rel, rel_len);
		strbuf_addf(&file, "/%s", name);
		uint64_t v = read_limit(file.buf, version);
		if (v && (!best || v < best))
			best = v;
		if (!rel_len)
			break;
		while (rel_len > 0 && rel[rel_len - 1] != '/')
			rel_len--;
		while (rel_len > 0 && rel[rel_len - 1] == '/')
			rel_len--;
	}
out:
	strbuf_release(&path);
	strbuf_release(&root);
	strbuf_release(&point);
	strbuf_release(&file);
	return best;
}

int sysmem_read(const struct sysmem_files *files, struct sysmem *m,
		struct err *err)
{
	const struct sysmem_files none = { 0 };
	struct strbuf cg = STRBUF_INIT, mounts = STRBUF_INIT;
	const char *meminfo, *cgroup, *mountinfo;

	if (!files)
		files = &none;
	meminfo = files->meminfo ? files->meminfo : "/proc/meminfo";
	cgroup = files->cgroup ? files->cgroup : "/proc/self/cgroup";
	mountinfo = files->mountinfo ? files->mountinfo : "/proc/self/mountinfo";

	uint64_t total = meminfo_total(meminfo);
	if (!total) {
		long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
		if (pages <= 0 || psz <= 0)
			return errprintf(err, "cannot tell the node's memory: "
					 "no MemTotal in '%s'", meminfo);
		total = (uint64_t)pages * (uint64_t)psz;
	}

	uint64_t limit = 0;
	int version = 0;
	if (strbuf_read_file(&cg, cgroup) == 0 &&
	    strbuf_read_file(&mounts, mountinfo) == 0) {
		/* A v1 memory controller takes the controller away from v2. */
		struct strbuf r = STRBUF_INIT, p = STRBUF_INIT;
		int v1 = cgroup_mount(mounts.buf, 1, &r, &p) == 0 &&
			cgroup_path(cg.buf, 1, &r) == 0;
		strbuf_release(&r);
		strbuf_release(&p);
		version = v1 ? 1 : 2;
		limit = cgroup_limit(cg.buf, mounts.buf, version);
		if (!limit)
			version = 0;
	}
	strbuf_release(&cg);
	strbuf_release(&mounts);

	m->total = total;
	m->limit = limit;
	m->usable = limit && limit < total ? limit : total;
	m->cgroup_version = version;
	return 0;
}
