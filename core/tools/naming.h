/* Tool names from function names: the upstream rule, plus deterministic collision handling. */
#ifndef LMCP_TOOLS_NAMING_H
#define LMCP_TOOLS_NAMING_H
#include <stddef.h>

/* The prefix (when the name starts with it and is longer) is removed, every character outside
 * [A-Za-z0-9_] becomes '_', and a leading digit gets a '_' in front. Result: malloc'd. */
char *tool_name_sanitize(const char *name, const char *strip_prefix);

/* Make names unique in place. Tools whose names collide are ordered by key (the function
 * ARN or name) and all but the first get "_2", "_3", ... (skipping names already taken), so
 * the same account always yields the same names. Returns the number of renamed tools; each
 * rename is logged as a warning naming both functions. */
size_t tool_names_make_unique(char **names, const char *const *keys, size_t n);
#endif
