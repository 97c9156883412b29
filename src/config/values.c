/*
 * Settings as written, apart from where they were written: the key
 * table's group names and "did you mean", one value checked against its
 * key, and --set KEY=VALUE from the command line.  The YAML reader and the
 * merging both build on these.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/internal.h"
#include "util/suggest.h"
#include "util/units.h"
#include "util/xalloc.h"

#define WORD_CHARS "_.@+%=:,/-"

void config_list_free(char **list)
{
	if (!list)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

void config_setting_release(struct setting *s)
{
	free(s->text);
	config_list_free(s->list);
	memset(s, 0, sizeof(*s));
}

void config_scope_release(struct scope *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		config_setting_release(&sc->v[i]);
	free(sc->v);
	memset(sc, 0, sizeof(*sc));
}

/* Takes over the memory of *s. */
void config_scope_add(struct scope *sc, struct setting *s)
{
	if (sc->n == sc->alloc) {
		sc->alloc = sc->alloc ? sc->alloc * 2 : 8;
		sc->v = xrealloc(sc->v, sc->alloc * sizeof(*sc->v));
	}
	sc->v[sc->n++] = *s;
	memset(s, 0, sizeof(*s));
}

static void pdef_release(struct pdef *d)
{
	free(d->name);
	free(d->inherit);
	free(d->description);
	config_list_free(d->hosts);
	config_scope_release(&d->s);
}

void config_cfile_release(struct cfile *f)
{
	free(f->path);
	free(f->profile);
	config_scope_release(&f->globals);
	for (size_t i = 0; i < f->ndefs; i++)
		pdef_release(&f->defs[i]);
	free(f->defs);
	memset(f, 0, sizeof(*f));
}

struct cfile *config_layer_add(struct layer *l)
{
	l->files = xrealloc(l->files, (l->n + 1) * sizeof(*l->files));
	memset(&l->files[l->n], 0, sizeof(*l->files));
	return &l->files[l->n++];
}

/* A value quoted for a message: control characters escaped, long values
 * cut short, so one error stays one line. */
const char *config_shown(const char *s, char *out, size_t size)
{
	size_t o = 0, i = 0;

	for (; s[i] && o + 8 < size && i < 48; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			o += (size_t)snprintf(out + o, size - o, "\\n");
		else if (c == '\t')
			o += (size_t)snprintf(out + o, size - o, "\\t");
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	if (s[i] && o + 4 < size)
		o += (size_t)snprintf(out + o, size - o, "...");
	out[o] = '\0';
	return out;
}

/* --- the key table ------------------------------------------------------ */

int config_is_group(const char *name)
{
	size_t n = strlen(name);

	for (const struct config_key *k = config_keys; k->name; k++)
		if (!strncmp(k->name, name, n) && k->name[n] == '.')
			return 1;
	return 0;
}

/* Group names ("job", "launch", ...) derived from the table once. */
static const char *group_name(unsigned i)
{
	static char groups[32][32];
	static unsigned ngroups;
	static int done;

	if (!done) {
		for (const struct config_key *k = config_keys; k->name; k++) {
			const char *dot = strchr(k->name, '.');
			size_t g = dot ? (size_t)(dot - k->name) : 0;
			unsigned j;
			if (!g || g >= sizeof(groups[0]))
				continue;
			for (j = 0; j < ngroups; j++)
				if (!strncmp(groups[j], k->name, g) && !groups[j][g])
					break;
			if (j == ngroups && ngroups < 32) {
				memcpy(groups[ngroups], k->name, g);
				groups[ngroups++][g] = '\0';
			}
		}
		done = 1;
	}
	return i < ngroups ? groups[i] : NULL;
}

/* The closest key, group or extra word; NULL when nothing is close. */
const char *config_suggest(const char *name, const char *const *extra)
{
	struct suggest_best sb = SUGGEST_BEST_INIT(name);
	const char *g;
	size_t len = strlen(name);

	for (const struct config_key *k = config_keys; k->name; k++) {
		const char *dot = strrchr(k->name, '.');
		/* "cores" alone is "job.cores" */
		if (dot && !strcmp(dot + 1, name))
			return k->name;
		suggest_best_consider(&sb, k->name);
	}
	for (unsigned i = 0; (g = group_name(i)); i++)
		suggest_best_consider(&sb, g);
	for (; extra && *extra; extra++)
		suggest_best_consider(&sb, *extra);
	if (!sb.best || sb.distance == 0 || sb.distance > 3 ||
	    sb.distance * 3 > len + 1)
		return NULL;
	return sb.best;
}

const char *config_suggest_key(const char *name)
{
	return config_suggest(name, NULL);
}

/* --- values ------------------------------------------------------------- */

int config_is_word(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(WORD_CHARS, *s))
			return 0;
	return 1;
}

int config_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int parse_int(const char *s, int64_t *out)
{
	char *end;

	if (!*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, int64_t *out)
{
	static const char *const yes[] = { "true", "yes", "on", NULL };
	static const char *const no[] = { "false", "no", "off", NULL };

	for (int i = 0; yes[i]; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* "30" or "1.5", spaces around allowed: a duration that says no unit. */
static int bare_number(const char *s)
{
	size_t n;

	s += strspn(s, " \t");
	n = strspn(s, "0123456789.");
	if (!n)
		return 0;
	s += n;
	return !s[strspn(s, " \t")];
}

/* Check one scalar against its key; on failure `why` says what is
 * expected, without a location. */
int config_value_check(const struct config_key *k, const char *text,
		       int64_t *num, struct err *why)
{
	uint64_t u;
	struct strbuf sb = STRBUF_INIT;

	*num = 0;
	switch (k->type) {
	case CONFIG_STRING:
	case CONFIG_LIST:
		if (config_has_control(text))
			return errprintf(why, "newlines and other control characters are not allowed");
		return 0;
	case CONFIG_WORD:
		if (!config_is_word(text))
			return errprintf(why, "only letters, digits and the characters %s are allowed",
					 WORD_CHARS);
		return 0;
	case CONFIG_INT:
		if (parse_int(text, num) || *num < k->min || *num > k->max)
			return errprintf(why, "expected an integer from %lld to %lld",
					 (long long)k->min, (long long)k->max);
		return 0;
	case CONFIG_BOOL:
		if (parse_bool(text, num))
			return errprintf(why, "expected true or false");
		return 0;
	case CONFIG_SIZE:
		if (size_parse(text, &u, NULL) || u > INT64_MAX)
			return errprintf(why, "expected a size like 4GiB or 1.5GB");
		*num = (int64_t)u;
		return 0;
	case CONFIG_DURATION:
		if (bare_number(text))
			return errprintf(why, "a number without a unit is ambiguous "
					 "(seconds to PBS, minutes to Slurm); write "
					 "a unit, as in 30m, 2h or 90s, or the colon "
					 "form 00:30:00");
		if (duration_parse(text, &u, NULL) || u > INT64_MAX)
			return errprintf(why, "expected a duration like 01:30:00, 90m or 2h");
		*num = (int64_t)u;
		return 0;
	case CONFIG_CHOICE:
		for (int i = 0; k->choices[i]; i++)
			if (!strcmp(text, k->choices[i]))
				return 0;
		for (int i = 0; k->choices[i]; i++)
			strbuf_addf(&sb, "%s%s", i ? ", " : "", k->choices[i]);
		errprintf(why, "expected one of %s", sb.buf);
		strbuf_release(&sb);
		return -1;
	}
	return errprintf(why, "key of unknown type");
}

/* `[a, "b c"]`: how a list reads in `config show`. */
char *config_list_render(char *const *list)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addch(&sb, '[');
	for (unsigned i = 0; list && list[i]; i++) {
		const char *s = list[i];
		if (i)
			strbuf_addstr(&sb, ", ");
		if (*s && !strpbrk(s, " ,[]\"'#:{}")) {
			strbuf_addstr(&sb, s);
			continue;
		}
		strbuf_addch(&sb, '"');
		for (; *s; s++) {
			if (*s == '"' || *s == '\\')
				strbuf_addch(&sb, '\\');
			strbuf_addch(&sb, *s);
		}
		strbuf_addch(&sb, '"');
	}
	strbuf_addch(&sb, ']');
	return strbuf_detach(&sb, NULL);
}

/* Fill a setting from text, checked; `where` prefixes an error. */
int config_setting_from_text(struct setting *s, const struct config_key *k,
			     const char *text, const char *where,
			     const char *origin, struct err *err)
{
	struct err why;
	char buf[96];

	memset(s, 0, sizeof(*s));
	if (config_value_check(k, text, &s->num, &why))
		return errprintf(err, "%s: invalid value '%s' for '%s': %s", where,
				 config_shown(text, buf, sizeof(buf)), k->name, why.text);
	s->key = k;
	s->set = 1;
	s->text = xstrdup(text);
	snprintf(s->origin, sizeof(s->origin), "%s", origin);
	return 0;
}

/* --- --set -------------------------------------------------------------- */

static int name_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static int name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* A --set value that is no list, with $NAME and ${NAME} replaced from the
 * environment.  The shell has had its turn at the command line, so a
 * dollar sign that reaches us was kept for this: job.log-directory=
 * '$SCRATCH/logs' must name a directory now, since no batch directive
 * expands it later.  A '$' before anything but a name stays. */
static int expand_set_value(const char *where, const char *value,
			    struct strbuf *out, struct err *err)
{
	const char *p = value;

	while (*p) {
		const char *dollar = strchr(p, '$');
		const char *name, *end;
		int braced;
		char buf[128];

		if (!dollar) {
			strbuf_addstr(out, p);
			break;
		}
		strbuf_add(out, p, (size_t)(dollar - p));
		braced = dollar[1] == '{';
		name = dollar + 1 + braced;
		end = name;
		if (name_start(*end))
			while (name_char(*end))
				end++;
		if (end == name || (braced && *end != '}') ||
		    (size_t)(end - name) >= sizeof(buf)) {
			if (braced)
				return errprintf(err, "%s: bad variable reference in '%s': "
						 "write ${NAME} with letters, digits and _",
						 where, value);
			strbuf_addch(out, '$');
			p = dollar + 1;
			continue;
		}
		memcpy(buf, name, (size_t)(end - name));
		buf[end - name] = '\0';
		const char *v = getenv(buf);
		if (!v)
			return errprintf(err, "%s: environment variable '%s' is not set "
					 "(in '%s')", where, buf, value);
		strbuf_addstr(out, v);
		p = end + braced;
	}
	return 0;
}

int config_parse_set(const char *arg, struct setting *s, struct err *err)
{
	const char *eq = strchr(arg, '=');
	char name[128], where[160];
	const struct config_key *k;

	memset(s, 0, sizeof(*s));
	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(name))
		return errprintf(err, "--set wants KEY=VALUE, got '%s'", arg);
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	snprintf(where, sizeof(where), "--set %s", name);
	k = config_key_find(name);
	if (!k) {
		const char *hint = config_suggest_key(name);
		if (hint)
			return errprintf(err, "%s: unknown key '%s' (did you mean '%s'?)",
					 where, name, hint);
		return errprintf(err, "%s: unknown key '%s'", where, name);
	}
	const char *value = eq + 1;
	if (!*value) {			/* KEY= unsets */
		s->key = k;
		snprintf(s->origin, sizeof(s->origin), "--set");
		return 0;
	}
	if (k->type == CONFIG_LIST) {
		s->key = k;
		if (config_set_list(s, value, where, err))
			return -1;
		s->set = 1;
		s->text = config_list_render(s->list);
		snprintf(s->origin, sizeof(s->origin), "--set");
		return 0;
	}
	struct strbuf text = STRBUF_INIT;
	int ret = expand_set_value(where, value, &text, err);

	if (ret == 0)
		ret = config_setting_from_text(s, k, text.buf, where, "--set", err);
	strbuf_release(&text);
	return ret;
}
