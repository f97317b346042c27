/* Tool names from function names: the upstream rule, plus deterministic collision handling. */
#ifndef LMCP_TOOLS_NAMING_H
#define LMCP_TOOLS_NAMING_H
#include <stddef.h>

/* Every character outside [A-Za-z0-9_] becomes '_', and a leading digit gets a '_' in front
 * (an empty name becomes "_"). Result: malloc'd. (Removing FUNCTION_PREFIX is the prefix
 * plugin's job: it sets the tool name before this runs.) */
char *tool_name_sanitize(const char *name);

/* Make names unique in place. Tools whose names collide are ordered by key (the function
 * ARN or name) and all but the first get "_2", "_3", ... (skipping names already taken), so
 * the same account always yields the same names. Returns the number of renamed tools; each
 * rename is logged as a warning naming both functions. */
size_t tool_names_make_unique(char **names, const char *const *keys, size_t n);
#endif
