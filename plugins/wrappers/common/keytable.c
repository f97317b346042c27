/* The keyed table of the wrapper plugins (see keytable.h). */
#include "keytable.h"

#include <stdlib.h>
#include <string.h>

#define WK_MAX_SLOTS ((size_t)1 << 30)

uint64_t wk_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a: the 64-bit offset basis and prime */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

bool wk_init(wk_table *t, size_t nslots)
{
    size_t n = 1;
    while (n < nslots && n < WK_MAX_SLOTS)
        n *= 2;
    t->slots = calloc(n, sizeof *t->slots);
    t->nslots = t->slots ? n : 0;
    t->n = 0;
    t->sweep_at = WK_SWEEP_MIN;
    return t->slots != NULL;
}

wk_node *wk_find(const wk_table *t, uint64_t hash, const char *key)
{
    for (wk_node *e = t->slots[hash & (t->nslots - 1)]; e; e = e->next)
        if (e->hash == hash && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

static void grow(wk_table *t)
{
    size_t nb = t->nslots * 2;
    wk_node **b = calloc(nb, sizeof *b);
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < t->nslots; i++) {
        wk_node *e = t->slots[i];
        while (e) {
            wk_node *next = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
            e = next;
        }
    }
    free(t->slots);
    t->slots = b;
    t->nslots = nb;
}

void wk_insert(wk_table *t, wk_node *node)
{
    if (t->n + 1 > t->nslots && t->nslots < WK_MAX_SLOTS)
        grow(t);
    wk_node **b = &t->slots[node->hash & (t->nslots - 1)];
    node->next = *b;
    *b = node;
    t->n++;
}

void wk_remove(wk_table *t, wk_node *node)
{
    wk_node **pp = &t->slots[node->hash & (t->nslots - 1)];
    while (*pp && *pp != node)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = node->next;
        node->next = NULL;
        t->n--;
    }
}

wk_node *wk_get(wk_table *t, const char *key, size_t size, bool *created)
{
    uint64_t h = wk_hash(key);
    wk_node *e = wk_find(t, h, key);
    if (created)
        *created = e == NULL;
    if (e)
        return e;
    size_t klen = strlen(key);
    if (size < sizeof *e)
        size = sizeof *e;
    e = calloc(1, size + klen + 1);
    if (!e)
        return NULL;
    char *k = (char *)e + size;
    memcpy(k, key, klen + 1);
    e->key = k;
    e->hash = h;
    wk_insert(t, e);
    return e;
}

bool wk_sweep_due(const wk_table *t) { return t->n >= t->sweep_at; }

size_t wk_sweep(wk_table *t, bool (*at_rest)(const wk_node *node, void *ctx),
                void (*free_node)(wk_node *node, void *ctx), void *ctx)
{
    size_t dropped = 0;
    for (size_t i = 0; i < t->nslots; i++) {
        wk_node **pp = &t->slots[i];
        while (*pp) {
            wk_node *e = *pp;
            if (!at_rest(e, ctx)) {
                pp = &e->next;
                continue;
            }
            *pp = e->next;
            t->n--;
            dropped++;
            if (free_node)
                free_node(e, ctx);
            else
                free(e);
        }
    }
    t->sweep_at = t->n < WK_SWEEP_MIN / 2 ? WK_SWEEP_MIN : 2 * t->n;
    return dropped;
}

void wk_destroy(wk_table *t, void (*free_node)(wk_node *node, void *ctx), void *ctx)
{
    for (size_t i = 0; i < t->nslots; i++) {
        wk_node *e = t->slots[i];
        while (e) {
            wk_node *next = e->next;
            if (free_node)
                free_node(e, ctx);
            else
                free(e);
            e = next;
        }
    }
    free(t->slots);
    t->slots = NULL;
    t->nslots = t->n = 0;
}
