/* A small string-keyed hash table shared by the wrapper plugins (rate-limit: buckets per tool,
 * circuit-breaker: breakers per function, cache: entries per key).
 *
 * Intrusive: a node (wk_node) is the first member of the caller's struct, so one allocation
 * holds both. The table is not thread-safe: the caller holds its own lock around every call.
 * Chains are singly linked; the slot array doubles when there are more nodes than slots (up to
 * 2^30 slots; when memory is short it does not grow — longer chains, still correct).
 *
 * A table whose keys come and go (tools and functions removed or renamed by a rediscovery) is
 * kept bounded by sweeping it: wk_sweep drops the nodes the caller says are at rest (no state a
 * new node would not have), and wk_sweep_due says when that is worth doing. */
#ifndef LMCP_WRAPPERS_KEYTABLE_H
#define LMCP_WRAPPERS_KEYTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wk_node {
    struct wk_node *next;
    uint64_t hash;
    const char *key; /* owned by the node's struct (wk_get: stored right after it) */
} wk_node;

typedef struct wk_table {
    wk_node **slots;
    size_t nslots; /* a power of two */
    size_t n;      /* nodes linked */
    size_t sweep_at; /* wk_sweep_due once n reaches it */
} wk_table;

#define WK_SWEEP_MIN 64

/* FNV-1a over the bytes of s. */
uint64_t wk_hash(const char *s);

/* An empty table of nslots slots (rounded up to a power of two). false: out of memory. */
bool wk_init(wk_table *t, size_t nslots);

/* The node of that key, or NULL. hash: wk_hash(key), or the caller's own hash of the key. */
wk_node *wk_find(const wk_table *t, uint64_t hash, const char *key);

/* Link a node whose hash and key the caller set (the key must not be linked already). */
void wk_insert(wk_table *t, wk_node *node);

/* Unlink a node (not freed). Nothing happens if it is not linked. */
void wk_remove(wk_table *t, wk_node *node);

/* Get or create: the node of key, or a new zeroed node of `size` bytes (size >= sizeof(wk_node);
 * the wk_node is the first member of the caller's struct) holding a copy of key after it,
 * hashed with wk_hash and linked. *created says which. NULL: out of memory. Free such a node
 * with free() (wk_destroy does, when free_node is NULL). */
wk_node *wk_get(wk_table *t, const char *key, size_t size, bool *created);

/* Whether the caller should sweep the table now: it holds twice as many nodes as the last sweep
 * kept (and at least WK_SWEEP_MIN). A caller that sweeps when this says so, before a lookup that
 * may create a node, keeps the table within about twice the nodes that are not at rest (plus
 * WK_SWEEP_MIN), at an amortized O(1) per node created. */
bool wk_sweep_due(const wk_table *t);

/* Unlink every node for which at_rest(node, ctx) is true and hand it to free_node(node, ctx)
 * (free() if NULL). Returns how many; the next sweep is due at twice the nodes left. */
size_t wk_sweep(wk_table *t, bool (*at_rest)(const wk_node *node, void *ctx),
                void (*free_node)(wk_node *node, void *ctx), void *ctx);

/* Free the slots; every node still linked goes to free_node(node, ctx), or free() if NULL. */
void wk_destroy(wk_table *t, void (*free_node)(wk_node *node, void *ctx), void *ctx);

#endif
