/*
 * worklog: the per-worker log of task output (format in worklog.h).
 *
 * Why a log and an index rather than a file per task: see worklog.h.
 * Why these choices:
 *   - one writer per pair, made sure by a lock file rather than a lock on
 *     the log itself, because the log is renamed on rotation and the lock
 *     must not move with it;
 *   - the index holds fixed-size entries with a check, so a reader can
 *     take it while it grows and a torn tail is plain;
 *   - no fsync: the bytes are in the page cache (and on the shared file
 *     system's client) when the task's DONE leaves, as a task's own file
 *     would be;
 *   - readers scan every index of the directory: a task's runs may have
 *     been on several workers, and the CLI after a job knows no worker
 *     names.  An index is 32 bytes a chunk, so this stays cheap for the
 *     sizes a log is rotated at.
 */
#include "state/worklog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fdio.h"
#include "util/vec.h"
#include "util/xalloc.h"

#define HEADER_SIZE	16
#define ENTRY_SIZE	32
#define LOG_MAGIC	"CLSTWLOG"
#define IDX_MAGIC	"CLSTWIDX"
#define MAX_SUFFIX	1000
#define READ_BLOCK	(ENTRY_SIZE * 2048)

struct worklog {
	char *dir;
	struct strbuf base;		/* DIR/worker-NAME[.N] */
	struct strbuf path;		/* scratch, and the log's path */
	int lock_fd, log_fd, idx_fd;
	uint64_t gen;
	uint64_t log_size;		/* where the next chunk goes */
	uint64_t max;
};

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t fnv1a(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static ssize_t pread_all(int fd, void *buf, size_t len, off_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got,
				  off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int read_header(int fd, const char *magic, uint64_t *gen)
{
	unsigned char h[HEADER_SIZE];

	if (pread_all(fd, h, sizeof(h), 0) != HEADER_SIZE ||
	    memcmp(h, magic, 8))
		return -1;
	*gen = get_le(h + 8, 8);
	return 0;
}

static const char *pair_path(struct worklog *wl, const char *ext)
{
	strbuf_reset(&wl->path);
	strbuf_addf(&wl->path, "%s.%s", wl->base.buf, ext);
	return wl->path.buf;
}

static uint64_t new_gen(void)
{
	uint64_t g = 0;
	struct timespec ts;

	if (getrandom(&g, sizeof(g), GRND_NONBLOCK) != sizeof(g)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		g = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^
			(uint64_t)getpid() << 32;
	}
	return g;
}

static int open_file(struct worklog *wl, const char *ext, struct err *err)
{
	int fd = open(pair_path(wl, ext),
		      O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (fd < 0)
		errprintf(err, "cannot open worker log '%s': %s", wl->path.buf,
			  strerror(errno));
	return fd;
}

/* Begin a fresh pair: both files cut to a new header. */
static int begin_pair(struct worklog *wl, struct err *err)
{
	unsigned char h[HEADER_SIZE];

	wl->gen = new_gen();
	put_le(h + 8, wl->gen, 8);
	memcpy(h, IDX_MAGIC, 8);
	if (ftruncate(wl->idx_fd, 0) < 0 || fd_write_all(wl->idx_fd, h, sizeof(h)))
		return errprintf(err, "cannot write worker log index '%s': %s",
				 pair_path(wl, "idx"), strerror(errno));
	memcpy(h, LOG_MAGIC, 8);
	if (ftruncate(wl->log_fd, 0) < 0 || fd_write_all(wl->log_fd, h, sizeof(h)))
		return errprintf(err, "cannot write worker log '%s': %s",
				 pair_path(wl, "log"), strerror(errno));
	wl->log_size = HEADER_SIZE;
	return 0;
}

/* The pair on disk, kept when its headers agree; a torn index entry cut
 * off.  Anything else is begun again. */
static int resume_pair(struct worklog *wl, struct err *err)
{
	uint64_t lg, ig;
	struct stat ls, is;

	if (read_header(wl->log_fd, LOG_MAGIC, &lg) < 0 ||
	    read_header(wl->idx_fd, IDX_MAGIC, &ig) < 0 || lg != ig ||
	    fstat(wl->log_fd, &ls) < 0 || fstat(wl->idx_fd, &is) < 0)
		return begin_pair(wl, err);
	uint64_t whole = ((uint64_t)is.st_size - HEADER_SIZE) / ENTRY_SIZE;
	if ((uint64_t)is.st_size != HEADER_SIZE + whole * ENTRY_SIZE &&
	    ftruncate(wl->idx_fd, (off_t)(HEADER_SIZE + whole * ENTRY_SIZE)) < 0)
		return begin_pair(wl, err);
	wl->gen = lg;
	wl->log_size = (uint64_t)ls.st_size;
	return 0;
}

static int open_pair(struct worklog *wl, struct err *err)
{
	wl->log_fd = open_file(wl, "log", err);
	if (wl->log_fd < 0)
		return -1;
	wl->idx_fd = open_file(wl, "idx", err);
	if (wl->idx_fd < 0)
		return -1;
	return resume_pair(wl, err);
}

static void close_pair(struct worklog *wl)
{
	if (wl->log_fd >= 0)
		close(wl->log_fd);
	if (wl->idx_fd >= 0)
		close(wl->idx_fd);
	wl->log_fd = wl->idx_fd = -1;
}

/* A worker's name as its files spell it. */
static void clean_name(struct strbuf *out, const char *name)
{
	for (const char *p = name && *name ? name : "worker"; *p; p++) {
		unsigned char c = (unsigned char)*p;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
		strbuf_addch(out, ok ? c : '_');
	}
}

/* DIR/worker-CLEAN, or DIR/worker-CLEAN.N past the first. */
static void pair_base(struct strbuf *out, const char *dir, const char *clean,
		      unsigned n)
{
	strbuf_addf(out, "%s/worker-%s", dir, clean);
	if (n > 1)
		strbuf_addf(out, ".%u", n);
}

/* The first NAME[.N] whose lock no one holds; a file system without
 * flock is taken as unlocked. */
static int take_name(struct worklog *wl, const char *name, struct err *err)
{
	struct strbuf clean = STRBUF_INIT;

	clean_name(&clean, name);
	for (unsigned n = 1; n <= MAX_SUFFIX; n++) {
		strbuf_reset(&wl->base);
		pair_base(&wl->base, wl->dir, clean.buf, n);
		int fd = open(pair_path(wl, "lock"),
			      O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			errprintf(err, "cannot open worker log lock '%s': %s",
				  wl->path.buf, strerror(errno));
			break;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 ||
		    (errno != EWOULDBLOCK && errno != EINTR)) {
			wl->lock_fd = fd;
			strbuf_release(&clean);
			return 0;
		}
		close(fd);
	}
	if (!err || !err->text[0])
		errprintf(err, "no free worker log name for '%s' in '%s'",
			  clean.buf, wl->dir);
	strbuf_release(&clean);
	return -1;
}

struct worklog *worklog_open(const char *dir, const char *name, uint64_t max,
			     struct err *err)
{
	struct worklog *wl = xcalloc(1, sizeof(*wl));

	wl->dir = xstrdup(dir);
	strbuf_init(&wl->base, 0);
	strbuf_init(&wl->path, 0);
	wl->lock_fd = wl->log_fd = wl->idx_fd = -1;
	wl->max = max ? max : WORKLOG_DEFAULT_MAX;
	if (err)
		err->text[0] = '\0';
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		errprintf(err, "cannot create '%s': %s", dir, strerror(errno));
		goto fail;
	}
	if (take_name(wl, name, err) < 0 || open_pair(wl, err) < 0)
		goto fail;
	return wl;
fail:
	worklog_close(wl);
	return NULL;
}

void worklog_close(struct worklog *wl)
{
	if (!wl)
		return;
	close_pair(wl);
	if (wl->lock_fd >= 0)
		close(wl->lock_fd);
	strbuf_release(&wl->base);
	strbuf_release(&wl->path);
	free(wl->dir);
	free(wl);
}

const char *worklog_dir(const struct worklog *wl)
{
	return wl->dir;
}

const char *worklog_path(struct worklog *wl)
{
	return pair_path(wl, "log");
}

/* The pair becomes generation .1 and a new one begins. */
static int rotate(struct worklog *wl, struct err *err)
{
	struct strbuf from = STRBUF_INIT, to = STRBUF_INIT;
	static const char *const ext[2] = { "log", "idx" };
	int rc = 0;

	close_pair(wl);
	for (int i = 0; i < 2 && !rc; i++) {
		strbuf_reset(&from);
		strbuf_reset(&to);
		strbuf_addf(&from, "%s.%s", wl->base.buf, ext[i]);
		strbuf_addf(&to, "%s.%s.1", wl->base.buf, ext[i]);
		if (rename(from.buf, to.buf) < 0 && errno != ENOENT)
			rc = errprintf(err, "cannot rotate worker log '%s': %s",
				       from.buf, strerror(errno));
	}
	strbuf_release(&from);
	strbuf_release(&to);
	if (!rc)
		rc = open_pair(wl, err);
	return rc;
}

int worklog_append(struct worklog *wl, task_id_t id, unsigned attempt,
		   enum task_stream stream, const void *data, size_t len,
		   struct err *err)
{
	unsigned char e[ENTRY_SIZE] = { 0 };

	if (!len)
		return 0;
	if (wl->log_fd < 0 ||
	    (wl->log_size > HEADER_SIZE && wl->log_size + len > wl->max)) {
		if (rotate(wl, err) < 0)
			return -1;
	}
	if (fd_write_all(wl->log_fd, data, len) < 0) {
		int saved = errno;
		struct stat st;
		/* Part of it may be in: the next chunk goes after it. */
		if (fstat(wl->log_fd, &st) == 0)
			wl->log_size = (uint64_t)st.st_size;
		return errprintf(err, "cannot write worker log '%s': %s",
				 pair_path(wl, "log"), strerror(saved));
	}
	put_le(e, id, 8);
	put_le(e + 8, attempt, 4);
	e[12] = stream == TASK_STDERR ? 2 : 1;
	put_le(e + 16, wl->log_size, 8);
	put_le(e + 24, len, 4);
	put_le(e + 28, fnv1a(e, 28), 4);
	wl->log_size += len;
	if (fd_write_all(wl->idx_fd, e, sizeof(e)) < 0)
		return errprintf(err, "cannot write worker log index '%s': %s",
				 pair_path(wl, "idx"), strerror(errno));
	return 0;
}

/* --- reading --------------------------------------------------------------- */

struct pair_name {
	char *idx;			/* full path of the index */
	size_t base_len;		/* bytes before ".idx" */
	int older;			/* the .1 generation */
};

static int pair_cmp(const void *a, const void *b)
{
	const struct pair_name *x = a, *y = b;
	size_t n = x->base_len < y->base_len ? x->base_len : y->base_len;
	int c = memcmp(x->idx, y->idx, n);

	if (c)
		return c;
	if (x->base_len != y->base_len)
		return x->base_len < y->base_len ? -1 : 1;
	return y->older - x->older;	/* older first */
}

struct chunk {
	size_t pair;
	unsigned attempt;
	uint64_t offset;
	uint32_t len;
};

struct scan {
	task_id_t id;
	int stream;
	struct chunk *c;
	size_t n, alloc;
};

/* Every chunk of task `id` on the stream in one index whose log has the
 * same generation. */
static void scan_pair(struct scan *s, size_t pair, int idx_fd, int log_fd)
{
	unsigned char *buf;
	uint64_t lg, ig;
	off_t off = HEADER_SIZE;
	ssize_t n;

	if (read_header(log_fd, LOG_MAGIC, &lg) < 0 ||
	    read_header(idx_fd, IDX_MAGIC, &ig) < 0 || lg != ig)
		return;
	buf = xmalloc(READ_BLOCK);
	while ((n = pread_all(idx_fd, buf, READ_BLOCK, off)) >= ENTRY_SIZE) {
		for (ssize_t i = 0; i + ENTRY_SIZE <= n; i += ENTRY_SIZE) {
			const unsigned char *e = buf + i;
			if (get_le(e, 8) != s->id || e[12] != s->stream ||
			    get_le(e + 28, 4) != fnv1a(e, 28))
				continue;
			s->c = vec_grow(s->c, &s->alloc, s->n + 1, sizeof(*s->c));
			s->c[s->n++] = (struct chunk){
				pair, (unsigned)get_le(e + 8, 4),
				get_le(e + 16, 8), (uint32_t)get_le(e + 24, 4),
			};
		}
		off += n - n % ENTRY_SIZE;
		if (n < READ_BLOCK)
			break;
	}
	free(buf);
}

/* A pair by the path of its index (taken over) and its generation. */
static void add_pair(struct pair_name **v, size_t *n, size_t *alloc,
		     struct strbuf *idx, int older)
{
	*v = vec_grow(*v, alloc, *n + 1, sizeof(**v));
	(*v)[*n].base_len = idx->len - (older ? 6 : 4);
	(*v)[*n].older = older;
	(*v)[*n].idx = strbuf_detach(idx, NULL);
	(*n)++;
}

static void list_pairs(DIR *d, const char *dir, struct pair_name **v,
		       size_t *n, size_t *alloc)
{
	struct dirent *de;

	while ((de = readdir(d))) {
		const char *name = de->d_name;
		size_t len = strlen(name);
		int older;

		if (strncmp(name, "worker-", 7))
			continue;
		if (len > 4 && !strcmp(name + len - 4, ".idx"))
			older = 0;
		else if (len > 6 && !strcmp(name + len - 6, ".idx.1"))
			older = 1;
		else
			continue;
		struct strbuf p = STRBUF_INIT;
		strbuf_addf(&p, "%s/%s", dir, name);
		add_pair(v, n, alloc, &p, older);
	}
}

/* What worklog_read says, from the pairs listed (sorted, freed here). */
static int read_pairs(struct pair_name *pairs, size_t npairs, task_id_t id,
		      unsigned attempt, enum task_stream stream,
		      struct strbuf *out, unsigned *found, unsigned *earlier)
{
	struct scan s = { id, stream == TASK_STDERR ? 2 : 1, NULL, 0, 0 };
	int *log_fds;
	uint64_t *log_sizes;
	unsigned want = attempt, below = 0;
	int got = 0;

	log_fds = xcalloc(npairs ? npairs : 1, sizeof(*log_fds));
	log_sizes = xcalloc(npairs ? npairs : 1, sizeof(*log_sizes));
	for (size_t i = 0; i < npairs; i++) {
		struct strbuf lp = STRBUF_INIT;
		strbuf_add(&lp, pairs[i].idx, pairs[i].base_len);
		strbuf_addstr(&lp, pairs[i].older ? ".log.1" : ".log");
		/* The log first: a rotation between the two opens gives
		 * generations that differ, and the pair is skipped. */
		log_fds[i] = open(lp.buf, O_RDONLY | O_CLOEXEC);
		int idx_fd = open(pairs[i].idx, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (log_fds[i] >= 0 && fstat(log_fds[i], &st) == 0)
			log_sizes[i] = (uint64_t)st.st_size;
		if (log_fds[i] >= 0 && idx_fd >= 0)
			scan_pair(&s, i, idx_fd, log_fds[i]);
		if (idx_fd >= 0)
			close(idx_fd);
		strbuf_release(&lp);
	}
	if (!want)
		for (size_t i = 0; i < s.n; i++)
			if (s.c[i].attempt > want)
				want = s.c[i].attempt;
	/* Earlier attempts that wrote: a set of small numbers, counted by
	 * looking at each once. */
	for (size_t i = 0; i < s.n; i++) {
		int seen = 0;
		if (s.c[i].attempt >= want)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = s.c[j].attempt == s.c[i].attempt;
		below += !seen;
	}
	for (size_t i = 0; i < s.n; i++) {
		const struct chunk *c = &s.c[i];
		/* An entry past its log's end (a log cut short by hand) is
		 * not read: nothing asks for more than the file holds. */
		if (c->attempt != want ||
		    c->offset + c->len > log_sizes[c->pair])
			continue;
		strbuf_grow(out, c->len);
		ssize_t n = pread_all(log_fds[c->pair], out->buf + out->len,
				      c->len, (off_t)c->offset);
		if (n > 0)
			strbuf_setlen(out, out->len + (size_t)n);
		got++;
	}
	if (found)
		*found = got ? want : 0;
	if (earlier)
		*earlier = below;
	for (size_t i = 0; i < npairs; i++) {
		if (log_fds[i] >= 0)
			close(log_fds[i]);
		free(pairs[i].idx);
	}
	free(log_fds);
	free(log_sizes);
	free(pairs);
	free(s.c);
	return got;
}

int worklog_read(const char *dir, task_id_t id, unsigned attempt,
		 enum task_stream stream, struct strbuf *out, unsigned *found,
		 unsigned *earlier, struct err *err)
{
	struct pair_name *pairs = NULL;
	size_t npairs = 0, apairs = 0;
	DIR *d = opendir(dir);

	if (found)
		*found = 0;
	if (earlier)
		*earlier = 0;
	if (!d)
		return errprintf(err, "cannot read '%s': %s", dir,
				 strerror(errno));
	list_pairs(d, dir, &pairs, &npairs, &apairs);
	closedir(d);
	if (npairs)
		qsort(pairs, npairs, sizeof(*pairs), pair_cmp);
	return read_pairs(pairs, npairs, id, attempt, stream, out, found,
			  earlier);
}

/* Its pairs are NAME, NAME.2, ... up to the first whose lock was never
 * made (a worker takes the first free one, making each lock it tries),
 * each with its .1 generation. */
int worklog_read_worker(const char *dir, const char *worker, task_id_t id,
			unsigned attempt, enum task_stream stream,
			struct strbuf *out, unsigned *found, unsigned *earlier,
			struct err *err)
{
	struct strbuf clean = STRBUF_INIT, base = STRBUF_INIT;
	struct pair_name *pairs = NULL;
	size_t npairs = 0, apairs = 0;
	struct stat st;

	if (found)
		*found = 0;
	if (earlier)
		*earlier = 0;
	if (stat(dir, &st) < 0)
		return errprintf(err, "cannot read '%s': %s", dir,
				 strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return errprintf(err, "cannot read '%s': %s", dir,
				 strerror(ENOTDIR));
	clean_name(&clean, worker);
	for (unsigned n = 1; n <= MAX_SUFFIX; n++) {
		strbuf_reset(&base);
		pair_base(&base, dir, clean.buf, n);
		size_t len = base.len;
		strbuf_addstr(&base, ".lock");
		if (access(base.buf, F_OK) < 0)
			break;
		for (int older = 1; older >= 0; older--) {
			struct strbuf idx = STRBUF_INIT;
			strbuf_add(&idx, base.buf, len);
			strbuf_addstr(&idx, older ? ".idx.1" : ".idx");
			if (access(idx.buf, F_OK) == 0)
				add_pair(&pairs, &npairs, &apairs, &idx, older);
			strbuf_release(&idx);
		}
	}
	strbuf_release(&clean);
	strbuf_release(&base);
	return read_pairs(pairs, npairs, id, attempt, stream, out, found,
			  earlier);
}
