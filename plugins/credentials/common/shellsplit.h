/* Split a command line into argv the way botocore does for credential_process on POSIX
 * (Python's shlex.split in POSIX mode): words are separated by blanks; '...' keeps everything
 * literally; "..." keeps everything except that a backslash escapes '"' and '\'; outside quotes a
 * backslash escapes any character; adjacent quoted and unquoted parts join into one word; ''
 * is an empty word. Nothing else is special: no variables, no $(...), no globbing, no
 * redirections, and ; | & # < > are ordinary characters — the words go to execvp, never to a
 * shell. */
#ifndef LMCP_CRED_SHELLSPLIT_H
#define LMCP_CRED_SHELLSPLIT_H
#include <stddef.h>

/* Returns 0 and a NULL-terminated vector (free with cc_strv_free), or -1 with err for an
 * unterminated quote or a trailing backslash. */
int cc_shell_split(const char *line, char ***argv, size_t *argc, char *err, size_t errlen);
#endif
