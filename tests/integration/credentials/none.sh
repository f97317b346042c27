#!/bin/bash
# credentials: a machine with nothing configured fails fast, with one message listing what every
# source of the default chain said; the same through --list-tools and in MCP mode.
. "$LMCP_SRCDIR/tests/integration/credentials/lib.sh"
start_emulator

run_lmcp nothing -- --check
expect_check_error nothing "credentials: NONE: no AWS credentials found (env: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set; profile: no profile \"default\" in $HOME_DIR/.aws/config (missing) and $HOME_DIR/.aws/credentials (missing); web-identity: AWS_WEB_IDENTITY_TOKEN_FILE is not set; container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set; imds: disabled by AWS_EC2_METADATA_DISABLED)"
check "nothing: --check gave up in $(ms_of nothing) ms" test "$(ms_of nothing)" -lt 1500
check "nothing: no warning for sources that are simply not configured" bash -c "! grep -q ' warn ' '$T/nothing.err'"

run_lmcp nothing-list -- --list-tools
expect_check_error nothing-list "discovery failed: "
expect_check_error nothing-list "no AWS credentials found (env: AWS_ACCESS_KEY_ID"

# the metadata service not disabled, but nothing there: still fast
run_lmcp nothing-imds AWS_EC2_METADATA_DISABLED= AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9 -- --check
expect_check_error nothing-imds "imds: no instance metadata service at http://127.0.0.1:9"
check "nothing-imds: gave up in $(ms_of nothing-imds) ms" test "$(ms_of nothing-imds)" -lt 2500

# in MCP mode the server starts, serves no tools and logs what is missing
mcp_script nothing-mcp '[{"call": "echo"}]' -- --log-level debug
check "nothing-mcp: the session works, with no tools" grep -q '^call 1 error .*Unknown tool: echo' "$T/nothing-mcp.report"
expect_log nothing-mcp "discovery failed, keeping the previous (empty) tool set: ListFunctions page 1: ListFunctions: AWS credentials: no AWS credentials found (env: "

finish
