/* The end of every wrapper chain: Lambda Invoke (RequestResponse) with the call's event, and
 * the mapping of what came back to an lmcp_result with messages a user can act on. */
#ifndef LMCP_INVOKE_INVOKER_H
#define LMCP_INVOKE_INVOKER_H
#include "invoke/call.h"

/* chain_terminal_fn; ctx is the generation (app.h) whose AWS client to use. */
int invoker_invoke(void *generation, lmcp_call *call, lmcp_result *res);
#endif
