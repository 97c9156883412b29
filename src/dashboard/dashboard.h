/*
 * dashboard: the browser dashboard's files, built into the program.  The
 * files live in the top-level dashboard/ folder; a Makefile rule turns
 * them into C (dashboard/embed.sh), so a scheduler on a node without a
 * network, or behind a proxy, serves everything the page needs and the
 * page needs nothing from anywhere else.  The server hands the table to
 * the API (api_set_assets), whose public routes serve it.
 */
#ifndef CLUSTER_DASHBOARD_H
#define CLUSTER_DASHBOARD_H

#include "api/api.h"

/* index.html, dashboard.js, dashboard.css; ends with a NULL name. */
extern const struct api_asset dashboard_assets[];

#endif
