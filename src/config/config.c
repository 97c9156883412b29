/*
 * Configuration layers: YAML files read with libyaml's document API,
 * checked against the key table, merged in layer order.
 *
 * A file is parsed into settings (key, value, where it was written) held
 * per scope: the file's global settings and one scope per profile the file
 * defines.  Nothing is applied while parsing, so every file is checked in
 * full even when its profiles are not the chosen one.  Then the profile is
 * chosen, its inherit chain resolved, and for each layer the global
 * settings and then the chain (root ancestor first) are applied on top of
 * the table's defaults.
 *
 * yaml.c reads a file into settings, values.c checks one value and reads
 * --set; this file loads the layers, merges them and answers config_get.
 */
#include "config/config.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "config/internal.h"
#include "util/xalloc.h"

/* A profile merged over every layer. */
struct profile {
	char *name;
	char *description;
	char *inherit;
	char inherit_at[ORIGIN_MAX];
	char **hosts;
	int hosts_layer;
	char *origin;
};

struct config {
	struct config_value *values;
	char *profile;
	char *reason;
	struct profile *profiles;
	size_t nprofiles;
	struct config_profile_info *infos;
};

static char **list_dup(char *const *list, unsigned n)
{
	char **out = xcalloc(n + 1, sizeof(*out));

	for (unsigned i = 0; i < n; i++)
		out[i] = xstrdup(list[i]);
	return out;
}

static unsigned list_len(char *const *list)
{
	unsigned n = 0;

	while (list && list[n])
		n++;
	return n;
}

static void layer_release(struct layer *l)
{
	for (size_t i = 0; i < l->n; i++)
		config_cfile_release(&l->files[i]);
	free(l->files);
	memset(l, 0, sizeof(*l));
}

/* --- merging ------------------------------------------------------------ */

static void value_assign(struct config_value *v, const struct setting *s)
{
	free(v->text);
	config_list_free(v->list);
	v->text = NULL;
	v->list = NULL;
	v->nlist = 0;
	v->num = 0;
	v->set = s->set;
	if (s->set) {
		v->text = xstrdup(s->text);
		v->num = s->num;
		if (s->key->type == CONFIG_LIST) {
			v->list = list_dup(s->list, s->nlist);
			v->nlist = s->nlist;
		}
	}
	snprintf(v->origin, sizeof(v->origin), "%s", s->origin);
}

static void apply_scope(struct config *cfg, const struct scope *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		value_assign(&cfg->values[sc->v[i].key - config_keys], &sc->v[i]);
}

static struct profile *profile_find(struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nprofiles; i++)
		if (!strcmp(cfg->profiles[i].name, name))
			return &cfg->profiles[i];
	return NULL;
}

static int cmp_profile(const void *a, const void *b)
{
	return strcmp(((const struct profile *)a)->name,
		      ((const struct profile *)b)->name);
}

static void merge_profiles(struct config *cfg, struct layer *layers)
{
	for (int li = 0; li < NLAYERS; li++) {
		for (size_t fi = 0; fi < layers[li].n; fi++) {
			struct cfile *f = &layers[li].files[fi];
			for (size_t di = 0; di < f->ndefs; di++) {
				struct pdef *d = &f->defs[di];
				struct profile *p = profile_find(cfg, d->name);
				if (!p) {
					cfg->profiles = xrealloc(cfg->profiles,
						(cfg->nprofiles + 1) * sizeof(*p));
					p = &cfg->profiles[cfg->nprofiles++];
					memset(p, 0, sizeof(*p));
					p->name = xstrdup(d->name);
					p->hosts = xcalloc(1, sizeof(*p->hosts));
				}
				free(p->origin);
				p->origin = xstrdup(f->path);
				if (d->description) {
					free(p->description);
					p->description = xstrdup(d->description);
				}
				if (d->inherit) {
					free(p->inherit);
					p->inherit = xstrdup(d->inherit);
					snprintf(p->inherit_at, sizeof(p->inherit_at),
						 "%s", d->inherit_at);
				}
				if (d->hosts) {
					config_list_free(p->hosts);
					p->hosts = list_dup(d->hosts, list_len(d->hosts));
					p->hosts_layer = li;
				}
			}
		}
	}
	if (cfg->nprofiles)
		qsort(cfg->profiles, cfg->nprofiles, sizeof(*cfg->profiles),
		      cmp_profile);
}

static void known_profiles(struct config *cfg, struct strbuf *sb)
{
	for (size_t i = 0; i < cfg->nprofiles; i++)
		strbuf_addf(sb, "%s%s", i ? ", " : "", cfg->profiles[i].name);
}

/* A profile and the one it inherits from, for inherit_cycle. */
struct inherit_link {
	const char *name;
	const char *inherit;		/* NULL: none */
	const char *inherit_at;
};

/* A profile whose inherit chain comes back to it is an error, "a -> b ->
 * a"; a parent not among links[] ends the chain. */
static int inherit_cycle(const struct inherit_link *links, size_t n,
			 struct err *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct inherit_link *p = &links[i], *q = p;
		struct strbuf chain = STRBUF_INIT;
		strbuf_addstr(&chain, p->name);
		for (size_t steps = 0; q && q->inherit && steps <= n; steps++) {
			const struct inherit_link *next = NULL;
			for (size_t j = 0; j < n && !next; j++)
				if (!strcmp(links[j].name, q->inherit))
					next = &links[j];
			q = next;
			if (!q)
				break;
			strbuf_addf(&chain, " -> %s", q->name);
			if (q == p) {
				errprintf(err, "%s: profile '%s' inherits itself: %s",
					  p->inherit_at, p->name, chain.buf);
				strbuf_release(&chain);
				return -1;
			}
		}
		strbuf_release(&chain);
	}
	return 0;
}

static int check_inherits(struct config *cfg, struct err *err)
{
	struct inherit_link *links;
	int ret;

	for (size_t i = 0; i < cfg->nprofiles; i++) {
		struct profile *p = &cfg->profiles[i];
		if (p->inherit && !profile_find(cfg, p->inherit)) {
			struct strbuf sb = STRBUF_INIT;
			known_profiles(cfg, &sb);
			errprintf(err, "%s: profile '%s' inherits unknown profile '%s' (known: %s)",
				  p->inherit_at, p->name, p->inherit, sb.buf);
			strbuf_release(&sb);
			return -1;
		}
	}
	links = xcalloc(cfg->nprofiles + 1, sizeof(*links));
	for (size_t i = 0; i < cfg->nprofiles; i++)
		links[i] = (struct inherit_link){ cfg->profiles[i].name,
						  cfg->profiles[i].inherit,
						  cfg->profiles[i].inherit_at };
	ret = inherit_cycle(links, cfg->nprofiles, err);
	free(links);
	return ret;
}

/* Host names are case-insensitive (RFC 4343): "Casper-Login1" is a
 * Casper login node as much as "casper-login1" is. */
static int match_host(const char *pattern, const char *host)
{
	char shorter[256];
	const char *dot = strchr(host, '.');

	if (!fnmatch(pattern, host, FNM_CASEFOLD))
		return 1;
	if (dot && (size_t)(dot - host) < sizeof(shorter)) {
		memcpy(shorter, host, (size_t)(dot - host));
		shorter[dot - host] = '\0';
		return !fnmatch(pattern, shorter, FNM_CASEFOLD);
	}
	return 0;
}

/* `auto`: patterns of later layers first (a user's profile beats a bundled
 * one), then profiles in name order. */
static void choose_auto(struct config *cfg, const char *host,
			const char **name, struct strbuf *reason)
{
	for (int li = NLAYERS - 1; li >= 0; li--) {
		for (size_t i = 0; i < cfg->nprofiles; i++) {
			struct profile *p = &cfg->profiles[i];
			if (p->hosts_layer != li)
				continue;
			for (char **h = p->hosts; *h; h++) {
				if (match_host(*h, host)) {
					*name = p->name;
					strbuf_addf(reason, "auto: hostname '%s' matches '%s' (profile %s)",
						    host, *h, p->name);
					return;
				}
			}
		}
	}
	*name = "local";
	strbuf_addf(reason, "auto: no pattern matches hostname '%s', fallback local",
		    host);
}

/* The profile everyone falls back to, even without bundled files. */
static void builtin_layer(struct layer *l)
{
	struct cfile *f = config_layer_add(l);
	struct pdef *d;
	struct setting s;

	f->path = xstrdup("built-in");
	f->defs = xcalloc(1, sizeof(*f->defs));
	f->ndefs = 1;
	d = &f->defs[0];
	d->name = xstrdup("local");
	snprintf(d->at, sizeof(d->at), "built-in");
	d->description = xstrdup("this machine only: workers are local processes");
	if (!config_setting_from_text(&s, config_key_find("backend"), "local",
				      "built-in", "built-in profile local", NULL))
		config_scope_add(&d->s, &s);
	if (!config_setting_from_text(&s, config_key_find("scheduler.location"), "local",
				      "built-in", "built-in profile local", NULL))
		config_scope_add(&d->s, &s);
}

static int load_layers(const struct config_source *src, struct layer *layers,
		       struct err *err)
{
	struct strbuf path = STRBUF_INIT;
	const char *sysconf = src->sysconfdir ? src->sysconfdir : "/etc/cluster";
	const char *home = src->home ? src->home : getenv("HOME");
	const char *file = src->config_file;
	struct cfile f;
	int ret = -1, r;

	builtin_layer(&layers[LAYER_BUILTIN]);
	if (src->datadir && config_load_dir(src->datadir, 1, &layers[LAYER_BUNDLED], err))
		goto out;

	strbuf_addf(&path, "%s/cluster.yaml", sysconf);
	if ((r = config_load_file(path.buf, 0, &f, err)) < 0)
		goto out;
	if (r == 0)
		*config_layer_add(&layers[LAYER_SYSTEM]) = f;
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/profiles.d", sysconf);
	if (config_load_dir(path.buf, 0, &layers[LAYER_SYSTEM], err))
		goto out;

	if (home && *home) {
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/.config/cluster/cluster.yaml", home);
		if ((r = config_load_file(path.buf, 0, &f, err)) < 0)
			goto out;
		if (r == 0)
			*config_layer_add(&layers[LAYER_USER]) = f;
	}

	if (!file || !*file)
		file = getenv("CLUSTER_CONFIG");
	if (file && *file) {
		if (config_load_file(file, 1, &f, err) < 0)
			goto out;
		*config_layer_add(&layers[LAYER_FILE]) = f;
	}
	ret = 0;
out:
	strbuf_release(&path);
	return ret;
}

/* The default profile named by the latest file that names one. */
static const struct cfile *file_profile(struct layer *layers)
{
	for (int li = NLAYERS - 1; li >= 0; li--)
		for (size_t fi = layers[li].n; fi-- > 0;)
			if (layers[li].files[fi].profile)
				return &layers[li].files[fi];
	return NULL;
}

static int choose_profile(struct config *cfg, const struct config_source *src,
			  struct layer *layers, struct err *err)
{
	struct strbuf reason = STRBUF_INIT, known = STRBUF_INIT;
	const struct cfile *pf = file_profile(layers);
	const char *name = "auto", *from = NULL;
	char host[256];

	if (src->profile && *src->profile) {
		name = src->profile;
		strbuf_addstr(&reason, "--profile");
	} else if (pf) {
		name = pf->profile;
		from = pf->profile_at;
		strbuf_addf(&reason, "profile: in %s", pf->profile_at);
	}
	if (!strcmp(name, "auto")) {
		const char *h = src->hostname;
		if (!h) {
			if (gethostname(host, sizeof(host)))
				snprintf(host, sizeof(host), "localhost");
			host[sizeof(host) - 1] = '\0';
			h = host;
		}
		strbuf_reset(&reason);
		choose_auto(cfg, h, &name, &reason);
	}
	if (!profile_find(cfg, name)) {
		known_profiles(cfg, &known);
		if (from)
			errprintf(err, "%s: unknown profile '%s' (known: %s)", from,
				  name, known.buf);
		else
			errprintf(err, "unknown profile '%s' (known: %s)", name,
				  known.buf);
		strbuf_release(&known);
		strbuf_release(&reason);
		return -1;
	}
	cfg->profile = xstrdup(name);
	cfg->reason = strbuf_detach(&reason, NULL);
	return 0;
}

static int apply_defaults(struct config *cfg, struct err *err)
{
	cfg->values = xcalloc(config_nkeys, sizeof(*cfg->values));
	for (unsigned i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		struct config_value *v = &cfg->values[i];
		struct setting s = { .key = k };
		v->key = k;
		snprintf(v->origin, sizeof(v->origin), "default");
		if (!k->def)
			continue;
		if (k->type == CONFIG_LIST) {
			/* list defaults are written in YAML flow form */
			if (config_set_list(&s, k->def, "built-in default", err))
				return -1;
			s.set = 1;
			s.text = config_list_render(s.list);
			snprintf(s.origin, sizeof(s.origin), "default");
		} else if (config_setting_from_text(&s, k, k->def, "built-in default", "default", err))
			return -1;
		value_assign(v, &s);
		config_setting_release(&s);
	}
	return 0;
}

/* Batch systems name the project in the environment; use it when the
 * profiles leave job.account unset. */
static int apply_env(struct config *cfg, struct err *err)
{
	const struct config_key *ka = config_key_find("job.account");
	struct config_value *acct = &cfg->values[ka - config_keys];
	const struct backend *b = backend_find(
		cfg->values[config_key_find("backend") - config_keys].text);
	const char *var, *val;
	struct setting s;
	char where[64], origin[64];

	if (acct->set || !b || !(var = b->account_env))
		return 0;
	if (!(val = getenv(var)) || !*val)
		return 0;
	snprintf(where, sizeof(where), "environment variable '%s'", var);
	snprintf(origin, sizeof(origin), "env %s", var);
	if (config_setting_from_text(&s, ka, val, where, origin, err))
		return -1;
	value_assign(acct, &s);
	config_setting_release(&s);
	return 0;
}

static void build_infos(struct config *cfg)
{
	cfg->infos = xcalloc(cfg->nprofiles, sizeof(*cfg->infos));
	for (size_t i = 0; i < cfg->nprofiles; i++) {
		struct profile *p = &cfg->profiles[i];
		cfg->infos[i].name = p->name;
		cfg->infos[i].description = p->description;
		cfg->infos[i].inherit = p->inherit;
		cfg->infos[i].origin = p->origin;
		cfg->infos[i].hosts = p->hosts;
	}
}

struct config *config_load(const struct config_source *src, struct err *err)
{
	struct layer layers[NLAYERS] = { { 0 } };
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	struct scope sets = { 0 };
	const char **chain = NULL;
	size_t nchain = 0;

	if (apply_defaults(cfg, err) || load_layers(src, layers, err))
		goto fail;
	for (const char *const *a = src->sets; a && *a; a++) {
		struct setting s;
		if (config_parse_set(*a, &s, err))
			goto fail;
		config_scope_add(&sets, &s);
	}
	merge_profiles(cfg, layers);
	if (check_inherits(cfg, err) || choose_profile(cfg, src, layers, err))
		goto fail;

	/* the chain, chosen profile first; applied root first */
	chain = xcalloc(cfg->nprofiles + 1, sizeof(*chain));
	for (struct profile *p = profile_find(cfg, cfg->profile); p;
	     p = p->inherit ? profile_find(cfg, p->inherit) : NULL)
		chain[nchain++] = p->name;
	for (int li = 0; li < NLAYERS; li++) {
		struct layer *l = &layers[li];
		for (size_t fi = 0; fi < l->n; fi++)
			apply_scope(cfg, &l->files[fi].globals);
		for (size_t ci = nchain; ci-- > 0;)
			for (size_t fi = 0; fi < l->n; fi++)
				for (size_t di = 0; di < l->files[fi].ndefs; di++)
					if (!strcmp(l->files[fi].defs[di].name, chain[ci]))
						apply_scope(cfg, &l->files[fi].defs[di].s);
	}
	apply_scope(cfg, &sets);
	if (apply_env(cfg, err))
		goto fail;
	build_infos(cfg);

	free(chain);
	config_scope_release(&sets);
	for (int li = 0; li < NLAYERS; li++)
		layer_release(&layers[li]);
	return cfg;
fail:
	free(chain);
	config_scope_release(&sets);
	for (int li = 0; li < NLAYERS; li++)
		layer_release(&layers[li]);
	config_destroy(cfg);
	return NULL;
}

void config_destroy(struct config *cfg)
{
	if (!cfg)
		return;
	for (unsigned i = 0; cfg->values && i < config_nkeys; i++) {
		free(cfg->values[i].text);
		config_list_free(cfg->values[i].list);
	}
	free(cfg->values);
	for (size_t i = 0; i < cfg->nprofiles; i++) {
		struct profile *p = &cfg->profiles[i];
		free(p->name);
		free(p->description);
		free(p->inherit);
		config_list_free(p->hosts);
		free(p->origin);
	}
	free(cfg->profiles);
	free(cfg->infos);
	free(cfg->profile);
	free(cfg->reason);
	free(cfg);
}

int config_check_file(const char *path, struct err *err)
{
	struct inherit_link *links;
	struct cfile f;
	int ret;

	if (config_load_file(path, 1, &f, err) < 0)
		return -1;
	/* Parents may live in other layers; only a cycle among this file's
	 * own profiles is certain to be wrong. */
	links = xcalloc(f.ndefs + 1, sizeof(*links));
	for (size_t i = 0; i < f.ndefs; i++)
		links[i] = (struct inherit_link){ f.defs[i].name,
						  f.defs[i].inherit,
						  f.defs[i].inherit_at };
	ret = inherit_cycle(links, f.ndefs, err);
	free(links);
	config_cfile_release(&f);
	return ret;
}

const char *config_profile_name(const struct config *cfg)
{
	return cfg->profile;
}

const char *config_profile_reason(const struct config *cfg)
{
	return cfg->reason;
}

const struct config_value *config_get(const struct config *cfg,
				      const char *name)
{
	const struct config_key *k = config_key_find(name);

	return k ? &cfg->values[k - config_keys] : NULL;
}

static const struct config_value *must_get(const struct config *cfg,
					   const char *name)
{
	const struct config_value *v = config_get(cfg, name);

	if (!v) {
		fprintf(stderr, "cluster: no configuration key '%s'\n", name);
		abort();
	}
	return v;
}

const char *config_get_str(const struct config *cfg, const char *name)
{
	const struct config_value *v = must_get(cfg, name);

	return v->set ? v->text : NULL;
}

int64_t config_get_num(const struct config *cfg, const char *name)
{
	const struct config_value *v = must_get(cfg, name);

	return v->set ? v->num : 0;
}

char *const *config_get_list(const struct config *cfg, const char *name)
{
	static char *const empty[] = { NULL };
	const struct config_value *v = must_get(cfg, name);

	return v->set && v->list ? v->list : empty;
}

unsigned config_profiles(const struct config *cfg,
			 const struct config_profile_info **out)
{
	*out = cfg->infos;
	return (unsigned)cfg->nprofiles;
}
