/*
 * Configuration: site profiles and their layers.
 *
 * Every key is declared once in config_keys[] (keys.c): name, type, default,
 * bounds, one-line doc.  Parsing, validation, `cluster config show` and the
 * cluster.yaml(5) man page (checked by a test) all read that table.
 *
 * Files are YAML.  Top level of any file:
 *	profile: NAME            default profile for this layer (else "auto")
 *	profiles:
 *	  NAME:
 *	    inherit: OTHER       optional parent profile
 *	    hosts: [glob, ...]   hostname patterns that make `auto` pick it
 *	    description: text
 *	    <keys>               nested mappings: job: {cores: 4} is job.cores
 *	<keys>                   settings outside `profiles` apply to every
 *	                         profile at this layer
 *
 * Layers, later wins: built-in defaults < bundled profiles (DATADIR/profiles,
 * one file per profile) < /etc/cluster/cluster.yaml and
 * /etc/cluster/profiles.d/\*.yaml < ~/.config/cluster/cluster.yaml <
 * $CLUSTER_CONFIG (or --config FILE) < --set key=value.  Within a layer,
 * global settings come first, then the inherit chain from the root ancestor
 * down to the chosen profile.
 *
 * `${NAME}` in plain or double-quoted scalars expands from the environment
 * at load time (unset is an error); single-quoted scalars are literal, so
 * '$TMPDIR' or '${TMPDIR}' reach the compute node unexpanded.
 */
#ifndef CLUSTER_CONFIG_H
#define CLUSTER_CONFIG_H

#include <stdint.h>

#include "util/err.h"
#include "util/strbuf.h"

enum config_type {
	CONFIG_STRING,		/* free text */
	CONFIG_WORD,		/* safe token: [A-Za-z0-9_.@+%=:,/-], no spaces */
	CONFIG_INT,		/* integer within [min, max] */
	CONFIG_BOOL,		/* true/false/yes/no/on/off */
	CONFIG_SIZE,		/* bytes, see util/units.h */
	CONFIG_DURATION,	/* seconds, see util/units.h */
	CONFIG_CHOICE,		/* one of choices[] */
	CONFIG_LIST,		/* sequence of strings */
};

struct config_key {
	const char *name;		/* dotted: "job.cores" */
	enum config_type type;
	const char *def;		/* default as text; NULL = unset */
	int64_t min, max;		/* CONFIG_INT bounds */
	const char *const *choices;	/* CONFIG_CHOICE, NULL-terminated */
	const char *doc;		/* one line */
};

extern const struct config_key config_keys[];	/* ends with name == NULL */
extern const unsigned config_nkeys;

const struct config_key *config_key_find(const char *name);

/* One effective value and where it came from. */
struct config_value {
	const struct config_key *key;
	int set;			/* 0: unset (no default, nothing given) */
	char *text;			/* as written (after ${VAR} expansion) */
	int64_t num;			/* INT, BOOL, SIZE (bytes), DURATION (s) */
	char **list;			/* LIST: NULL-terminated */
	unsigned nlist;
	char origin[192];		/* "default", "/path/file.yaml:12:5",
					   "--set", "env PBS_ACCOUNT",
					   "built-in profile local" */
};

struct config_source {
	const char *config_file;	/* --config FILE, else $CLUSTER_CONFIG */
	const char *profile;		/* --profile NAME, else file's, else auto */
	const char *const *sets;	/* --set key=value, NULL-terminated */
	const char *datadir;		/* bundled profiles dir; NULL: only the
					   built-in `local` profile */
	const char *sysconfdir;		/* default /etc/cluster */
	const char *home;		/* default $HOME */
	const char *hostname;		/* default gethostname() */
};

struct config;

/* Load every layer and resolve `src->profile`.  NULL + err on failure:
 * a broken file is an error, never a silent fallback. */
struct config *config_load(const struct config_source *src, struct err *err);
void config_destroy(struct config *cfg);

/* Validate one file on its own (`cluster config check FILE`). */
int config_check_file(const char *path, struct err *err);

const char *config_profile_name(const struct config *cfg);
/* Why this profile: "--profile", "auto: hostname 'casper12' matches
 * 'casper*' (profile casper)", "auto: no pattern matches, fallback local". */
const char *config_profile_reason(const struct config *cfg);

const struct config_value *config_get(const struct config *cfg,
				      const char *name);
/* Typed shortcuts; abort() on a name not in the table (a programming
 * error).  When unset: get_str returns NULL, get_num 0, get_list an empty
 * list (never NULL). */
const char *config_get_str(const struct config *cfg, const char *name);
int64_t config_get_num(const struct config *cfg, const char *name);
char *const *config_get_list(const struct config *cfg, const char *name);

/* Known profiles in name order, for `cluster config profiles`. */
struct config_profile_info {
	const char *name;
	const char *description;
	const char *inherit;
	const char *origin;		/* file that defines it (last layer) */
	char *const *hosts;		/* NULL-terminated */
};
unsigned config_profiles(const struct config *cfg,
			 const struct config_profile_info **out);

/* A CONFIG_WORD value: [A-Za-z0-9_.@+%=:,/-]+, safe in a shell word and a
 * batch directive. */
int config_is_word(const char *s);
/* Any byte below 0x20 or DEL: no value may carry one into a script. */
int config_has_control(const char *s);

/* Edit distance based suggestion for an unknown key, or NULL. */
const char *config_suggest_key(const char *name);

#endif
