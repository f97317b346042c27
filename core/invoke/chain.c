#include "config.h"
#include "invoke/chain.h"

#include <stdlib.h>

#include "plugin.h"
#include "util/str.h"

struct lmcp_next {
    chain *c;
    size_t index;
};

struct chain {
    chain_terminal_fn terminal;
    void *terminal_ctx;
    plugin_instance **links;
    size_t n;
};

chain *chain_new(chain_terminal_fn terminal, void *terminal_ctx)
{
    chain *c = xcalloc(1, sizeof *c);
    c->terminal = terminal;
    c->terminal_ctx = terminal_ctx;
    return c;
}

void chain_append(chain *c, plugin_instance *wrapper)
{
    c->links = xrealloc(c->links, (c->n + 1) * sizeof *c->links);
    c->links[c->n++] = wrapper;
}

int chain_next(const lmcp_next *next, lmcp_call *call, lmcp_result *res)
{
    chain *c = next->c;
    if (call_is_cancelled(call)) {
        result_set_error(res, LMCP_OUTCOME_CANCELLED, "Cancelled", "the call was cancelled");
        return LMCP_CANCELLED;
    }
    if (next->index >= c->n)
        return c->terminal(c->terminal_ctx, call, res);
    plugin_instance *w = c->links[next->index];
    const tool *t = call->tool;
    const lmcp_settings *s =
        next->index < t->n_wrapper_settings && t->wrapper_settings[next->index] ? t->wrapper_settings[next->index]
                                                                                 : w->settings;
    lmcp_next rest = {c, next->index + 1};
    return w->def->wrapper->invoke(w->state, s, call, res, &rest);
}

int chain_run(chain *c, lmcp_call *call, lmcp_result *res)
{
    lmcp_next first = {c, 0};
    return chain_next(&first, call, res);
}

void chain_free(chain *c)
{
    if (!c)
        return;
    free(c->links);
    free(c);
}
