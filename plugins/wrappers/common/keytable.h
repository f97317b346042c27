/* A small string-keyed hash table shared by the wrapper plugins (rate-limit: buckets per tool,
 * circuit-breaker: breakers per function, cache: entries per key).
 *
 * Intrusive: a node (wk_node) is the first member of the caller's struct, so one allocation
 * holds both. The table is not thread-safe: the caller holds its own lock around every call.
 * Chains are singly linked; the slot array doubles when there are more nodes than slots (up to
 * 2^30 slots; when memory is short it does not grow — longer chains, still correct). */
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
} wk_table;

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

/* Free the slots; every node still linked goes to free_node(node, ctx), or free() if NULL. */
void wk_destroy(wk_table *t, void (*free_node)(wk_node *node, void *ctx), void *ctx);

#endif
