/* The wrapper chain: wrapper plugin instances in conf order, outermost first, ending in a
 * terminal (the Lambda invoker). Each link may answer itself or call the next. */
#ifndef LMCP_INVOKE_CHAIN_H
#define LMCP_INVOKE_CHAIN_H
#include <stddef.h>
#include "invoke/call.h"

struct lmcp_instance; /* core/plugin.h */

typedef int (*chain_terminal_fn)(void *ctx, lmcp_call *call, lmcp_result *res);

typedef struct chain chain;
chain *chain_new(chain_terminal_fn terminal, void *terminal_ctx);
/* Append a wrapper instance (borrowed; must outlive the chain). */
void chain_append(chain *c, struct lmcp_instance *wrapper);
/* Run the rest of the chain from `next` (the host's call_next). */
int chain_next(const lmcp_next *next, lmcp_call *call, lmcp_result *res);
/* Run the whole chain for the call; res is filled in every case. */
int chain_run(chain *c, lmcp_call *call, lmcp_result *res);
void chain_free(chain *c);
#endif
