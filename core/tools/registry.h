/* The tool registry: an immutable snapshot of the tools, swapped whole on refresh.
 * A reader (tools/list, tools/call) acquires the current snapshot, which stays valid until it
 * releases it, so a call in flight finishes on the snapshot it started with. */
#ifndef LMCP_TOOLS_REGISTRY_H
#define LMCP_TOOLS_REGISTRY_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "util/hdrs.h"

struct schema_validator; /* tools/schema.h */
struct lmcp_settings;

typedef struct tool {
    char *name;                 /* unique MCP tool name */
    char *title;                /* NULL when none */
    char *description;
    char *schema_text;          /* the function's own input schema, compact JSON; NULL: any object */
    json_object *annotations;   /* NULL or {"readOnlyHint": true, ...} (owned) */
    char *function_name;
    char *function_arn;         /* NULL for vendor functions known by name only */
    char *qualifier;            /* NULL: unqualified ($LATEST) */
    hdrs tags;                  /* the function's tags, when known */
    bool tags_known;
    bool wrap_parameters;       /* upstream compatibility: the event is arguments.parameters */
    int64_t timeout_ms;         /* per-call timeout for this tool (conf default or override) */
    /* compiled from schema_text on the tool's first call (tool_validator): most tools of a big
       account are never called, and a compiled schema costs ~10x its text */
    _Atomic(struct schema_validator *) validator;
    atomic_bool validator_failed;
    /* Per wrapper instance (index = position in the wrapper chain): the settings of that
       wrapper resolved for this tool (conf override blocks and function tags applied). */
    struct lmcp_settings **wrapper_settings;
    size_t n_wrapper_settings;
} tool;

typedef struct tool_snapshot {
    atomic_int refs;
    struct chain *chain;        /* wrapper chain of the generation the tools came from, or NULL */
    void *owner;                /* that generation; owner_release(owner) when the snapshot dies */
    void (*owner_release)(void *owner);
    size_t n;
    tool *tools;                /* sorted by name (strcmp) after snapshot_finish */
    char digest[65];            /* sha256 of the emitted tool list: change detection */
} tool_snapshot;

tool_snapshot *snapshot_new(void);          /* refs = 1, empty */
tool *snapshot_add(tool_snapshot *s);       /* a zeroed tool appended to the snapshot */
/* Sort by name and compute the digest. Call once, before publishing. */
void snapshot_finish(tool_snapshot *s);
/* The Tool object tools/list emits for t: a new object with a new inputSchema, sharing t's
 * annotations object (a reference), so serialize and release it while the snapshot is held, on
 * one thread. Built per page rather than kept: with thousands of tools, prebuilt json-c objects
 * cost more memory than building a page costs time. */
json_object *tool_wire(const tool *t);
/* The inputSchema clients see: schema_text (or an object with any properties), wrapped in upstream's
 * {"parameters": ...} shape when wrap_parameters is set. A new object. */
json_object *tool_input_schema(const tool *t);
/* The validator of the arguments a client sends: tool_input_schema(t), the schema tools/list
 * advertises (the wrapped one with wrap_parameters), compiled once on first use. NULL when any
 * object will do (no schema of its own, no wrapper), or, logged once, when it cannot be
 * compiled. Thread-safe. */
const struct schema_validator *tool_validator(const tool *t);
const tool *snapshot_find(const tool_snapshot *s, const char *name);  /* bsearch */
/* Index of the first tool whose name is > after (for cursors); 0 when after is NULL. */
size_t snapshot_index_after(const tool_snapshot *s, const char *after);
tool_snapshot *snapshot_ref(tool_snapshot *s);
void snapshot_release(tool_snapshot *s);

typedef struct registry registry;
registry *registry_new(void);               /* holds an empty snapshot */
void registry_free(registry *r);
tool_snapshot *registry_acquire(registry *r);        /* +1 ref, never NULL */
/* Publish s (takes its reference). Returns true when the tool list changed (digest). */
bool registry_publish(registry *r, tool_snapshot *s);
bool registry_has_published(registry *r);   /* a discovery has completed at least once */
#endif
