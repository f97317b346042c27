#ifndef LMCP_HOST_H
#define LMCP_HOST_H
#include <lambda-mcp/plugin.h>
const lmcp_host *host_table(void);
#endif
