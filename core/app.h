/* The application: wiring of the conf, the plugins, AWS, discovery, the registry, the executor
 * and the MCP server; the reader loop, signals, refresh.
 *
 * A generation is everything built from one reading of the conf file: plugin instances,
 * the credentials chain, the AWS client, the wrapper chain. Tool snapshots reference the
 * generation they were discovered with, so a call in flight finishes with the wrappers and
 * credentials it started with, and SIGHUP can build a new generation beside the old one. */
#ifndef LMCP_APP_H
#define LMCP_APP_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "aws/aws.h"
#include "conf.h"
#include "credentials/chain.h"
#include "discovery/pipeline.h"
#include "invoke/chain.h"
#include "plugin.h"

typedef struct app app;

typedef struct generation {
    atomic_int refs;
    app *app;
    app_config cfg;
    lmcp_log_level log_level;       /* server.log_level, applied when the generation is installed */
    char *region;                   /* resolved */
    char *region_origin;            /* "aws.region in FILE:LINE", "AWS_REGION", ... */
    plugin_instance **credentials;
    size_t n_credentials;
    plugin_instance **discovery;
    size_t n_discovery;
    plugin_instance **wrappers;
    size_t n_wrappers;
    creds_chain *creds;
    aws_config awscfg;
    aws_client *aws;
    chain *chain;
    size_t discovery_concurrency;
    /* the names and ARNs a discovery of this generation was refused GetFunction for
       (AccessDeniedException): looked up in the account listing instead for an hour
       (core/discovery/pipeline.c) */
    getfunction_refusals gf_refusals;
} generation;

generation *generation_ref(generation *g);
void generation_release(generation *g);

typedef struct app_options {
    const char *config_path;        /* --config, or LAMBDA_MCP_CONFIG */
    const char *plugin_dir;         /* --plugin-dir */
    lmcp_log_level log_level;       /* --log-level, when log_level_set */
    bool log_level_set;
} app_options;

/* Build a generation from the conf (loads and inits every plugin). NULL with err on failure. */
generation *generation_new(app *a, const char *config_path, char *err, size_t errlen);

/* Resolve credentials with one named credentials plugin at default settings (a temporary
 * instance), e.g. a profile's credential_source. */
int generation_resolve_with(generation *g, const char *plugin, lmcp_credentials **out, char *err, size_t errlen);

int app_main(int argc, char **argv);
#endif
