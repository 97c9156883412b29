/*
 * state: the state directory.  One file, over the usual length, because
 * its parts share one set of rules: every name is checked here, and every
 * file is written through the same atomic temp + fsync + rename under the
 * same checks of owner and mode.
 */
#include "state/state.h"
#include "state/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "util/fdio.h"

#define NAME_MAX_LEN	64
#define TOKEN_HEX	64

/* --- the directory ------------------------------------------------------- */

static int check_name(const char *name, struct err *err)
{
	size_t n = name ? strlen(name) : 0;

	if (!n)
		return errprintf(err, "cluster name is empty");
	if (n > NAME_MAX_LEN)
		return errprintf(err, "cluster name '%.40s...' is longer than %d characters",
				 name, NAME_MAX_LEN);
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return errprintf(err, "cluster name '%s' is not allowed", name);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')
			continue;
		if (c < 0x20 || c >= 0x7f)
			return errprintf(err, "cluster name has byte 0x%02x: use letters, digits, '_', '.' and '-'",
					 c);
		return errprintf(err, "cluster name '%s' has '%c': use letters, digits, '_', '.' and '-'",
				 name, c);
	}
	return 0;
}

static int home_dir(struct strbuf *out, struct err *err)
{
	const char *home = getenv("CLUSTER_HOME");

	if (home && *home) {
		if (home[0] != '/')
			return errprintf(err, "CLUSTER_HOME '%s' is not an absolute path",
					 home);
		strbuf_addstr(out, home);
		return 0;
	}
	home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());

		if (!pw || !pw->pw_dir || !*pw->pw_dir)
			return errprintf(err, "cannot find the home directory: set HOME or CLUSTER_HOME");
		home = pw->pw_dir;
	}
	strbuf_addstr(out, home);
	strbuf_addstr(out, "/.cluster");
	return 0;
}

/* A state directory must be ours and writable by us alone: anyone who can
 * write there could replace the token or the address. */
static int check_dir(const char *path, struct err *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errprintf(err, "cannot use state directory '%s': %s",
				 path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return errprintf(err, "state directory '%s' is not a directory",
				 path);
	}
	if (st.st_uid != geteuid()) {
		errno = EPERM;
		return errprintf(err, "state directory '%s' is owned by uid %ld, not by you (uid %ld)",
				 path, (long)st.st_uid, (long)geteuid());
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		errno = EPERM;
		return errprintf(err, "state directory '%s' is writable by group or others: run chmod go-w '%s'",
				 path, path);
	}
	return 0;
}

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(char *path, struct err *err)
{
	char *p = path + 1;

	for (;;) {
		char *slash = strchr(p, '/');

		if (slash)
			*slash = '\0';
		if (*path && mkdir(path, 0700) < 0 && errno != EEXIST) {
			int e = errno;

			errprintf(err, "cannot create state directory '%s': %s",
				  path, strerror(e));
			if (slash)
				*slash = '/';
			errno = e;
			return -1;
		}
		if (!slash)
			return 0;
		*slash = '/';
		p = slash + 1;
	}
}

static int make_private_dir(const char *path, struct err *err)
{
	if (mkdir(path, 0700) == 0) {
		/* mkdir's mode is masked by the umask; set it exactly. */
		if (chmod(path, 0700) < 0)
			return errprintf(err, "cannot chmod state directory '%s': %s",
					 path, strerror(errno));
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	return errprintf(err, "cannot create state directory '%s': %s", path,
			 strerror(errno));
}

int state_dir(const char *name, int create, struct strbuf *out,
	      struct err *err)
{
	struct strbuf base = STRBUF_INIT, path = STRBUF_INIT;
	struct stat st;
	int rc = -1;

	if (check_name(name, err) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (home_dir(&base, err) < 0) {
		errno = EINVAL;
		goto out;
	}
	strbuf_addf(&path, "%s/%s", base.buf, name);

	if (!create) {
		if (stat(path.buf, &st) < 0) {
			int e = errno;

			if (e == ENOENT)
				errprintf(err, "no cluster '%s' (no state directory '%s')",
					  name, path.buf);
			else
				errprintf(err, "cannot use state directory '%s': %s",
					  path.buf, strerror(e));
			errno = e;
			goto out;
		}
	} else {
		if (stat(base.buf, &st) < 0) {
			if (errno != ENOENT) {
				errprintf(err, "cannot use state directory '%s': %s",
					  base.buf, strerror(errno));
				goto out;
			}
			if (make_dirs(base.buf, err) < 0)
				goto out;
			if (chmod(base.buf, 0700) < 0) {
				errprintf(err, "cannot chmod state directory '%s': %s",
					  base.buf, strerror(errno));
				goto out;
			}
		}
	}
	if (check_dir(base.buf, err) < 0)
		goto out;
	if (create && make_private_dir(path.buf, err) < 0)
		goto out;
	if (check_dir(path.buf, err) < 0)
		goto out;
	if (create) {
		size_t len = path.len;

		strbuf_addstr(&path, "/logs");
		if (make_private_dir(path.buf, err) < 0)
			goto out;
		strbuf_setlen(&path, len);
	}
	strbuf_addstr(out, path.buf);
	rc = 0;
out:
	strbuf_release(&base);
	strbuf_release(&path);
	return rc;
}

/* --- atomic writes ------------------------------------------------------- */

/* Write `data` into a fresh temp file beside `path`; its name goes to tmp. */
static int write_temp(const char *path, const void *data, size_t len,
		      int mode, struct strbuf *tmp, struct err *err)
{
	int fd, e;

	fd = fd_temp_beside(path, "tmp", mode, tmp);
	if (fd < 0)
		return errprintf(err, "cannot create a temporary file for '%s': %s",
				 path, strerror(errno));
	if (fd_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		e = errno;
		close(fd);
		unlink(tmp->buf);
		errno = e;
		return errprintf(err, "cannot write '%s': %s", tmp->buf,
				 strerror(e));
	}
	if (close(fd) < 0) {
		e = errno;
		unlink(tmp->buf);
		errno = e;
		return errprintf(err, "cannot write '%s': %s", tmp->buf,
				 strerror(e));
	}
	return 0;
}

int state_write_atomic(const char *path, const void *data, size_t len,
		       int mode, struct err *err)
{
	struct strbuf tmp = STRBUF_INIT;
	int rc = -1, e;

	if (write_temp(path, data, len, mode, &tmp, err) < 0)
		goto out;
	if (rename(tmp.buf, path) < 0) {
		e = errno;
		unlink(tmp.buf);
		errno = e;
		errprintf(err, "cannot rename '%s' to '%s': %s", tmp.buf, path,
			  strerror(e));
		goto out;
	}
	if (fd_sync_dir_of(path) < 0) {
		errprintf(err, "cannot sync the directory of '%s': %s", path,
			  strerror(errno));
		goto out;
	}
	rc = 0;
out:
	strbuf_release(&tmp);
	return rc;
}

/* --- the token ----------------------------------------------------------- */

static int read_token(const char *path, char token[65], struct err *err)
{
	char buf[TOKEN_HEX + 2];
	struct stat st;
	ssize_t n;
	int fd, e;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT)
			errprintf(err, "no token file '%s'", path);
		else
			errprintf(err, "cannot read token file '%s': %s", path,
				  strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return errprintf(err, "cannot read token file '%s': %s", path,
				 strerror(e));
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		close(fd);
		errno = EPERM;
		return errprintf(err, "token file '%s' is not a regular file owned by you",
				 path);
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		errno = EPERM;
		return errprintf(err, "token file '%s' can be read by group or others (mode %04o): run chmod 600 '%s'",
				 path, (unsigned)(st.st_mode & 07777), path);
	}
	do
		n = read(fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	e = errno;
	close(fd);
	if (n < 0) {
		errno = e;
		return errprintf(err, "cannot read token file '%s': %s", path,
				 strerror(e));
	}
	/* 64 hex digits, optionally one newline. */
	if (n == TOKEN_HEX + 1 && buf[TOKEN_HEX] == '\n')
		n--;
	if (n != TOKEN_HEX ||
	    strspn(buf, "0123456789abcdefABCDEF") < TOKEN_HEX) {
		OPENSSL_cleanse(buf, sizeof(buf));
		errno = EINVAL;
		return errprintf(err, "token file '%s' is malformed: expected 64 hex characters",
				 path);
	}
	memcpy(token, buf, TOKEN_HEX);
	token[TOKEN_HEX] = '\0';
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

/* A token file's text: 64 random hex digits and a newline. */
static int random_token(char text[TOKEN_HEX + 1], struct err *err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[TOKEN_HEX / 2];

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		errno = EIO;
		return errprintf(err, "cannot generate a token: no randomness from libcrypto");
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		text[2 * i] = hex[raw[i] >> 4];
		text[2 * i + 1] = hex[raw[i] & 15];
	}
	text[TOKEN_HEX] = '\n';
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

/* The token is written to a private temp file and linked into place:
 * link() fails if a token already exists, so two starters racing agree on
 * one token and nobody ever reads a half-written file. */
static int create_token(const char *path, char token[65], struct err *err)
{
	struct strbuf tmp = STRBUF_INIT;
	char text[TOKEN_HEX + 1];
	int rc = -1, e;

	if (random_token(text, err) < 0)
		return -1;
	if (write_temp(path, text, sizeof(text), 0600, &tmp, err) < 0)
		goto out;
	if (link(tmp.buf, path) < 0) {
		e = errno;
		unlink(tmp.buf);
		if (e == EEXIST) {	/* someone else won: use theirs */
			rc = read_token(path, token, err);
			goto out;
		}
		errno = e;
		errprintf(err, "cannot create token file '%s': %s", path,
			  strerror(e));
		goto out;
	}
	unlink(tmp.buf);
	if (fd_sync_dir_of(path) < 0) {
		errprintf(err, "cannot sync the directory of '%s': %s", path,
			  strerror(errno));
		goto out;
	}
	memcpy(token, text, TOKEN_HEX);
	token[TOKEN_HEX] = '\0';
	rc = 0;
out:
	OPENSSL_cleanse(text, sizeof(text));
	strbuf_release(&tmp);
	return rc;
}

int state_token(const char *dir, int create, char token[65], struct err *err)
{
	struct strbuf path = STRBUF_INIT;
	int rc;

	strbuf_addf(&path, "%s/token", dir);
	rc = read_token(path.buf, token, err);
	if (rc < 0 && errno == ENOENT && create)
		rc = create_token(path.buf, token, err);
	strbuf_release(&path);
	return rc;
}

/* Whether a scheduler of this cluster may be running right now, so that
 * its token must stay.  The lock is its claim; where locks cannot be
 * taken at all, an address file it has not been seen to leave behind. */
static int scheduler_running(const char *dir, int *lock_fd)
{
	struct state_address a;

	*lock_fd = state_lock(dir, 0, NULL);
	if (*lock_fd >= 0)
		return 0;
	if (errno == EWOULDBLOCK)
		return 1;
	return state_address_read(dir, &a, NULL) == 0 &&
	       !state_address_stale(&a);
}

int state_token_renew(const char *dir, char token[65], struct err *err)
{
	struct strbuf path = STRBUF_INIT;
	char text[TOKEN_HEX + 1];
	int fd, rc = -1, e = 0;

	if (scheduler_running(dir, &fd))
		return state_token(dir, 1, token, err);
	strbuf_addf(&path, "%s/token", dir);
	if (random_token(text, err) < 0 ||
	    state_write_atomic(path.buf, text, sizeof(text), 0600, err) < 0) {
		e = errno;
		goto out;
	}
	memcpy(token, text, TOKEN_HEX);
	token[TOKEN_HEX] = '\0';
	rc = 0;
out:
	OPENSSL_cleanse(text, sizeof(text));
	state_unlock(fd);
	strbuf_release(&path);
	if (rc < 0)
		errno = e;
	return rc;
}

/* --- the lock ------------------------------------------------------------ */

int state_lock(const char *dir, int wait, struct err *err)
{
	struct strbuf path = STRBUF_INIT;
	int fd, rc, e;

	strbuf_addf(&path, "%s/lock", dir);
	fd = open(path.buf, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		e = errno;
		errprintf(err, "cannot open lock file '%s': %s", path.buf,
			  strerror(e));
		goto fail;
	}
	do
		rc = flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
	while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		e = errno;
		if (e == EWOULDBLOCK)
			errprintf(err, "cluster state '%s' is locked by another command",
				  dir);
		else
			errprintf(err, "cannot lock '%s': %s", path.buf,
				  strerror(e));
		close(fd);
		goto fail;
	}
	strbuf_release(&path);
	return fd;
fail:
	strbuf_release(&path);
	errno = e;
	return -1;
}

void state_unlock(int fd)
{
	if (fd < 0)
		return;
	flock(fd, LOCK_UN);
	close(fd);
}

/* --- the address file ---------------------------------------------------- */

static void address_url(struct strbuf *sb, const struct state_address *a)
{
	/* An IPv6 literal needs brackets in a URL. */
	if (strchr(a->host, ':'))
		strbuf_addf(sb, "http://[%s]:%u/", a->host,
			    (unsigned)a->http_port);
	else
		strbuf_addf(sb, "http://%s:%u/", a->host,
			    (unsigned)a->http_port);
}

/* This machine's hostname, as the address file records it. */
static void this_node(char out[256])
{
	if (gethostname(out, 256) < 0)
		out[0] = '\0';
	out[255] = '\0';
}

int state_address_write(const char *dir, const struct state_address *a,
			struct err *err)
{
	struct strbuf path = STRBUF_INIT, url = STRBUF_INIT, body = STRBUF_INIT;
	char started[32], node[256];
	json_t *obj = NULL;
	char *text = NULL;
	time_t now = time(NULL);
	struct tm tm;
	int rc = -1;

	if (!memchr(a->host, '\0', sizeof(a->host)) || !a->host[0]) {
		errno = EINVAL;
		return errprintf(err, "scheduler address has no host");
	}
	if (!a->port) {
		errno = EINVAL;
		return errprintf(err, "scheduler address '%s' has no port",
				 a->host);
	}
	gmtime_r(&now, &tm);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
	address_url(&url, a);
	this_node(node);
	obj = json_pack("{s:s, s:i, s:i, s:s, s:I, s:s, s:s}",
			"host", a->host, "port", (int)a->port,
			"http_port", (int)a->http_port, "url", url.buf,
			"pid", (json_int_t)a->pid, "node", node,
			"started", started);
	if (obj)
		text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text) {
		errno = EINVAL;
		errprintf(err, "cannot encode the scheduler address of '%s' as JSON",
			  a->host);
		goto out;
	}
	/* A trailing newline keeps `cat address` tidy. */
	strbuf_addstr(&body, text);
	strbuf_addch(&body, '\n');
	strbuf_addf(&path, "%s/address", dir);
	rc = state_write_atomic(path.buf, body.buf, body.len, 0600, err);
out:
	free(text);
	json_decref(obj);
	strbuf_release(&path);
	strbuf_release(&url);
	strbuf_release(&body);
	return rc;
}

static int get_port(json_t *obj, const char *key, int min, const char *path,
		    uint16_t *out, struct err *err)
{
	json_t *v = json_object_get(obj, key);
	json_int_t n;

	if (!json_is_integer(v))
		return errprintf(err, "address file '%s': '%s' is missing or not an integer",
				 path, key);
	n = json_integer_value(v);
	if (n < min || n > 65535)
		return errprintf(err, "address file '%s': '%s' %lld is not a port number",
				 path, key, (long long)n);
	*out = (uint16_t)n;
	return 0;
}

int state_address_read(const char *dir, struct state_address *a,
		       struct err *err)
{
	struct strbuf path = STRBUF_INIT;
	struct state_address tmp;
	json_error_t jerr;
	json_t *obj = NULL, *v;
	const char *host;
	int rc = -1;

	memset(&tmp, 0, sizeof(tmp));
	strbuf_addf(&path, "%s/address", dir);
	obj = json_load_file(path.buf, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj) {
		if (access(path.buf, F_OK) < 0 && errno == ENOENT) {
			errprintf(err, "no address file '%s': is the scheduler running?",
				  path.buf);
			errno = ENOENT;
		} else {
			errprintf(err, "address file '%s': line %d: %s",
				  path.buf, jerr.line, jerr.text);
			errno = EINVAL;
		}
		goto out;
	}
	errno = EINVAL;
	if (!json_is_object(obj)) {
		errprintf(err, "address file '%s': not a JSON object", path.buf);
		goto out;
	}
	v = json_object_get(obj, "host");
	host = json_string_value(v);
	if (!host || !*host || strlen(host) >= sizeof(tmp.host)) {
		errprintf(err, "address file '%s': 'host' is missing, empty or too long",
			  path.buf);
		goto out;
	}
	strcpy(tmp.host, host);
	if (get_port(obj, "port", 1, path.buf, &tmp.port, err) < 0 ||
	    get_port(obj, "http_port", 0, path.buf, &tmp.http_port, err) < 0)
		goto out;
	v = json_object_get(obj, "pid");
	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    json_integer_value(v) > LONG_MAX) {
		errprintf(err, "address file '%s': 'pid' is missing or not a process id",
			  path.buf);
		goto out;
	}
	tmp.pid = (long)json_integer_value(v);
	/* Files written before "node" existed have none: that is "". */
	v = json_object_get(obj, "node");
	if (v && (!json_is_string(v) ||
		  strlen(json_string_value(v)) >= sizeof(tmp.node))) {
		errprintf(err, "address file '%s': 'node' is not a host name",
			  path.buf);
		goto out;
	}
	if (v)
		strcpy(tmp.node, json_string_value(v));
	*a = tmp;
	rc = 0;
out:
	json_decref(obj);
	strbuf_release(&path);
	return rc;
}

int state_address_stale(const struct state_address *a)
{
	const char *node = a->node[0] ? a->node : a->host;
	char me[256];

	this_node(me);
	if (!me[0] || strcmp(node, me) || a->pid <= 0 || a->pid > INT_MAX)
		return 0;
	/* EPERM: a process of someone else's has the pid, so it runs. */
	return kill((pid_t)a->pid, 0) < 0 && errno == ESRCH;
}

int state_address_remove(const char *dir)
{
	struct strbuf path = STRBUF_INIT;
	int rc = 0;

	strbuf_addf(&path, "%s/address", dir);
	if (unlink(path.buf) < 0 && errno != ENOENT)
		rc = -1;
	strbuf_release(&path);
	return rc;
}

/* --- the pool's files ------------------------------------------------------ */

json_t *state_json_read(const char *dir, const char *name, struct err *err)
{
	struct strbuf path = STRBUF_INIT;
	json_error_t je;
	json_t *doc;

	strbuf_addf(&path, "%s/%s", dir, name);
	doc = json_load_file(path.buf, 0, &je);
	if (!doc) {
		int gone = access(path.buf, F_OK) < 0 && errno == ENOENT;
		errprintf(err, "%s: %s", path.buf,
			  gone ? strerror(ENOENT) : je.text);
		errno = gone ? ENOENT : EINVAL;
	}
	strbuf_release(&path);
	return doc;
}

static int read_json_file(const char *dir, const char *name, json_t **out,
			  struct err *err)
{
	*out = state_json_read(dir, name, err);
	return *out ? 0 : -1;
}

static int write_json_file(const char *dir, const char *name,
			   const json_t *doc, struct err *err)
{
	struct strbuf path = STRBUF_INIT;
	char *text = json_dumps(doc, JSON_COMPACT);
	int rc;

	if (!text)
		return errprintf(err, "%s/%s: cannot encode", dir, name);
	strbuf_addf(&path, "%s/%s", dir, name);
	{
		size_t n = strlen(text);
		char *line = malloc(n + 2);
		if (!line) {
			free(text);
			strbuf_release(&path);
			return errprintf(err, "%s: %s", path.buf, strerror(ENOMEM));
		}
		memcpy(line, text, n);
		line[n] = '\n';
		rc = state_write_atomic(path.buf, line, n + 1, 0600, err);
		free(line);
	}
	free(text);
	strbuf_release(&path);
	return rc;
}

int state_pool_jobs_write(const char *dir, const json_t *doc, struct err *err)
{
	return write_json_file(dir, STATE_POOL_JOBS, doc, err);
}

int state_pool_jobs_read(const char *dir, json_t **doc, struct err *err)
{
	return read_json_file(dir, STATE_POOL_JOBS, doc, err);
}

int state_pool_target_write(const char *dir, unsigned workers, struct err *err)
{
	json_t *doc = json_pack("{s:I}", "workers", (json_int_t)workers);
	int rc;

	if (!doc)
		return errprintf(err, "%s/%s: cannot encode", dir, STATE_POOL_TARGET);
	rc = write_json_file(dir, STATE_POOL_TARGET, doc, err);
	json_decref(doc);
	return rc;
}

int state_pool_target_read(const char *dir, unsigned *workers, struct err *err)
{
	json_t *doc, *v;

	if (read_json_file(dir, STATE_POOL_TARGET, &doc, err) < 0)
		return -1;
	v = json_object_get(doc, "workers");
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > UINT_MAX) {
		json_decref(doc);
		errno = EINVAL;
		return errprintf(err, "%s/%s: 'workers' is missing or not a count",
				 dir, STATE_POOL_TARGET);
	}
	*workers = (unsigned)json_integer_value(v);
	json_decref(doc);
	return 0;
}
