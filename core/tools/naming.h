/* Tool names from function names: the upstream rule, plus deterministic collision handling. */
#ifndef LMCP_TOOLS_NAMING_H
#define LMCP_TOOLS_NAMING_H
#include <stddef.h>

/* The longest tool name made: many clients refuse tools whose names are longer than 64
 * characters (MCP itself recommends at most 128). */
#define TOOL_NAME_MAX 64

/* Every character outside [A-Za-z0-9_] becomes '_', and a leading digit gets a '_' in front
 * (an empty name becomes "_"). A result longer than TOOL_NAME_MAX keeps its first 55 characters
 * and ends in '_' and 8 hex digits of a hash of the whole (deterministic). Result: malloc'd.
 * (Removing FUNCTION_PREFIX is the prefix plugin's job: it sets the tool name before this runs.) */
char *tool_name_sanitize(const char *name);

/* Make names unique in place. Tools whose names collide are ordered by key (the function
 * ARN or name) and all but the first get "_2", "_3", ... (skipping names already taken; the
 * name is shortened so that the result stays within TOOL_NAME_MAX), so
 * the same account always yields the same names. Returns the number of renamed tools; each
 * rename is logged as a warning naming both functions. */
size_t tool_names_make_unique(char **names, const char *const *keys, size_t n);
#endif
