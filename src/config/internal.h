/*
 * Private to config/: settings as files write them, before they are merged
 * into a struct config.  values.c owns these structs and checks values,
 * yaml.c reads files into them, config.c merges them.
 */
#ifndef CLUSTER_CONFIG_INTERNAL_H
#define CLUSTER_CONFIG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define ORIGIN_MAX 192

/* One value as written in one place. */
struct setting {
	const struct config_key *key;
	int set;			/* 0: an explicit null, which unsets */
	char *text;
	int64_t num;
	char **list;
	unsigned nlist;
	char origin[ORIGIN_MAX];
};

struct scope {
	struct setting *v;
	size_t n, alloc;
};

/* A profile as one file defines it. */
struct pdef {
	char *name;
	char at[ORIGIN_MAX];		/* where its name is written */
	char *inherit;
	char inherit_at[ORIGIN_MAX];
	char *description;
	char **hosts;			/* NULL-terminated, or NULL if not given */
	struct scope s;
};

struct cfile {
	char *path;
	char *profile;			/* top-level `profile:` */
	char profile_at[ORIGIN_MAX];
	struct scope globals;
	struct pdef *defs;
	size_t ndefs;
};

enum { LAYER_BUILTIN, LAYER_BUNDLED, LAYER_SYSTEM, LAYER_USER, LAYER_FILE,
       NLAYERS };

struct layer {
	struct cfile *files;
	size_t n;
};

/* values.c: lifetimes (scope_add takes over the memory of *s) */
void config_list_free(char **list);
void config_setting_release(struct setting *s);
void config_scope_release(struct scope *sc);
void config_scope_add(struct scope *sc, struct setting *s);
void config_cfile_release(struct cfile *f);
struct cfile *config_layer_add(struct layer *l);
/* A value quoted for a message, into out[size]; returns out. */
const char *config_shown(const char *s, char *out, size_t size);

/* values.c: the key table */
int config_is_group(const char *name);
const char *config_suggest(const char *name, const char *const *extra);

/* values.c: values */
int config_value_check(const struct config_key *k, const char *text,
		       int64_t *num, struct err *why);
char *config_list_render(char *const *list);
int config_setting_from_text(struct setting *s, const struct config_key *k,
			     const char *text, const char *where,
			     const char *origin, struct err *err);

/* values.c: --set */
int config_parse_set(const char *arg, struct setting *s, struct err *err);

/* yaml.c */
int config_load_file(const char *path, int must_exist, struct cfile *f,
		     struct err *err);
int config_load_dir(const char *dir, int must_exist, struct layer *l,
		    struct err *err);
int config_set_list(struct setting *s, const char *value, const char *where,
		    struct err *err);

#endif
