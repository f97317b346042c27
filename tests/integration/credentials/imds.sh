#!/bin/bash
# credentials: the EC2 instance metadata service (the emulator as AWS_EC2_METADATA_SERVICE_ENDPOINT):
# IMDSv2 with a session token; IMDSv1 never used unless allowed (the emulator's counters);
# a refused token request with v1 not allowed says so; AWS_EC2_METADATA_DISABLED=true skips it
# without a request; a slow or absent metadata service costs about a second, not more; token_ttl is
# the TTL asked; endpoint_mode IPv6 gives http://[fd00:ec2::254] (never connected to: a loopback
# proxy); a bad endpoint_mode in the conf file is refused at startup with file:line.
. "$LMCP_SRCDIR/tests/integration/credentials/lib.sh"
start_emulator
imds_stat() { emu GET /__emu/stats | "$LMCP_PYTHON" -c "import json,sys; print(json.load(sys.stdin)['imds'].get('$1', 0))"; }
ON=(AWS_EC2_METADATA_DISABLED=)

# IMDSv2 through the default chain (nothing else is configured)
run_lmcp v2-check "${ON[@]}" -- --check --log-level trace
expect_source v2-check imds "$(issued_key cred-test-instance-role | tail -c 5)"
expect_log v2-check "instance role cred-test-instance-role from $URL (IMDSv2)"
seq=$(emu_seq)
run_lmcp v2-list "${ON[@]}" -- --list-tools --log-level trace
expect_signed v2-list "$seq" ListFunctions "$(issued_key cred-test-instance-role)"
check "v2: session tokens were issued and used ($(imds_stat tokens_issued) tokens, $(imds_stat v2_requests) requests)" \
  test "$(imds_stat tokens_issued)" -ge 2 -a "$(imds_stat v2_requests)" -ge 4
check "v2: IMDSv1 was never used" test "$(imds_stat v1_requests)" = 0 -a "$(imds_stat v1_rejected)" = 0

# the token request refused: v1 is not allowed by default, and the message says so
emu POST /__emu/faults '{"operation": "ImdsGetToken", "status": 403, "message": "Forbidden"}' >/dev/null
run_lmcp v1-refused "${ON[@]}" -- --check
expect_check_error v1-refused "imds: the metadata service at $URL refused an IMDSv2 session token (HTTP 403) and IMDSv1 is not allowed (set allow_v1 = true"
check "v1-refused: still no IMDSv1 request" test "$(imds_stat v1_requests)" = 0 -a "$(imds_stat v1_rejected)" = 0
# allowed in the conf (and by the emulator): the fallback works
emu POST /__emu/imds '{"allow_v1": true}' >/dev/null
cat >"$T/v1.conf" <<CONF
credentials = ( { plugin = "imds"; allow_v1 = true; } );
discovery = { plugins = ( { plugin = "prefix"; } ); };
CONF
seq=$(emu_seq)
run_lmcp v1-allowed "${ON[@]}" -- --check -c "$T/v1.conf" --log-level debug
expect_source v1-allowed imds
expect_log v1-allowed "IMDSv2 token refused (HTTP 403): using IMDSv1 (allow_v1)"
check "v1-allowed: IMDSv1 was used this time ($(imds_stat v1_requests) requests)" test "$(imds_stat v1_requests)" -ge 2
# the fallback is kept like a token: one refused token request, not one before every GET
puts=$(emu_ops "$seq" | awk '$1 == "ImdsGetToken"' | wc -l)
check "v1-allowed: the token request was made once ($puts), not before each of the two GETs" test "$puts" = 1
emu DELETE /__emu/faults >/dev/null
emu POST /__emu/imds '{"allow_v1": false}' >/dev/null

# disabled: not a single request, at once
before=$(imds_stat tokens_issued)
seq=$(emu_seq)
run_lmcp disabled AWS_EC2_METADATA_DISABLED=TRUE -- --check
expect_check_error disabled "imds: disabled by AWS_EC2_METADATA_DISABLED"
check "disabled: no request reached the metadata service" test -z "$(emu_ops "$seq")"
check "disabled: --check answered in $(ms_of disabled) ms" test "$(ms_of disabled)" -lt 1500

# a metadata service that does not answer in time: about one second, then the chain gives up
emu POST /__emu/faults '{"operation": "ImdsGetToken", "latency_ms": 5000}' >/dev/null
run_lmcp slow "${ON[@]}" -- --check
expect_check_error slow "imds: no instance metadata service at $URL"
check "slow: gave up after $(ms_of slow) ms (timeout 1 s)" test "$(ms_of slow)" -lt 2500
emu DELETE /__emu/faults >/dev/null
# nothing listening there
run_lmcp absent "${ON[@]}" AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9 -- --check
expect_check_error absent "imds: no instance metadata service at http://127.0.0.1:9"
check "absent: gave up after $(ms_of absent) ms" test "$(ms_of absent)" -lt 2000

# token_ttl: the token request asks for that lifetime (X-aws-ec2-metadata-token-ttl-seconds; the
# emulator counts tokens by the TTL asked), 6 h by default; one token serves both GETs of a resolution
issued0=$(imds_stat tokens_issued)
d0=$(imds_stat tokens_issued_ttl_21600)
run_lmcp ttl-default "${ON[@]}" -- --check
expect_source ttl-default imds
check "token_ttl default: one token, asked for 21600 s" \
  test $(($(imds_stat tokens_issued_ttl_21600) - d0)) = 1 -a $(($(imds_stat tokens_issued) - issued0)) = 1
cat >"$T/ttl.conf" <<CONF
credentials = ( { plugin = "imds"; token_ttl = "90s"; } );
discovery = { plugins = ( { plugin = "prefix"; } ); };
CONF
issued0=$(imds_stat tokens_issued)
seq=$(emu_seq)
run_lmcp ttl-90 "${ON[@]}" -- --check -c "$T/ttl.conf"
expect_source ttl-90 imds
ops=$(emu_ops "$seq")
check "token_ttl = 90s: one token, asked for 90 s ($(imds_stat tokens_issued_ttl_90) of $(($(imds_stat tokens_issued) - issued0)))" \
  test "$(imds_stat tokens_issued_ttl_90)" = 1 -a $(($(imds_stat tokens_issued) - issued0)) = 1
check "token_ttl = 90s: the token served both GETs (one ImdsGetToken, then ImdsListRoles and ImdsGetCredentials): $(echo $ops)" \
  test "$(echo "$ops" | awk '$1 == "ImdsGetToken"' | wc -l)" = 1 -a "$(echo "$ops" | awk '$1 == "ImdsListRoles"' | wc -l)" = 1 \
  -a "$(echo "$ops" | awk '$1 == "ImdsGetCredentials"' | wc -l)" = 1

# endpoint_mode: irrelevant when endpoint is set (here from AWS_EC2_METADATA_SERVICE_ENDPOINT)
cat >"$T/mode6-endpoint.conf" <<CONF
credentials = ( { plugin = "imds"; endpoint_mode = "IPv6"; } );
discovery = { plugins = ( { plugin = "prefix"; } ); };
CONF
run_lmcp mode6-endpoint "${ON[@]}" -- --check -c "$T/mode6-endpoint.conf"
expect_source mode6-endpoint imds
# IPv6 mode without an endpoint: the URL is http://[fd00:ec2::254]. It is never connected to:
# libcurl sends every request to the http_proxy, a closed loopback port, so the attempt fails at
# once and the error names the URL. First proved on the emulator's URL: the proxy is used.
run_lmcp proxy-guard "${ON[@]}" http_proxy=http://127.0.0.1:9 -- --check -c "$T/mode6-endpoint.conf"
if [ "$(rc_of proxy-guard)" != 0 ] && grep -qF "no instance metadata service at $URL" "$T/proxy-guard.out" "$T/proxy-guard.err"; then
  ok "proxy-guard: http_proxy (a closed loopback port) is used for the metadata service"
  run_lmcp mode6 "${ON[@]}" AWS_EC2_METADATA_SERVICE_ENDPOINT= AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6 \
    http_proxy=http://127.0.0.1:9 -- --check
  expect_check_error mode6 "imds: no instance metadata service at http://[fd00:ec2::254]"
  run_lmcp mode4 "${ON[@]}" AWS_EC2_METADATA_SERVICE_ENDPOINT= AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=ipv4 \
    http_proxy=http://127.0.0.1:9 -- --check
  expect_check_error mode4 "imds: no instance metadata service at http://169.254.169.254"
else
  not_ok "proxy-guard: http_proxy is not used for the metadata service: the IPv6 URL cannot be checked without connecting"
  show proxy-guard
fi

# a bad endpoint_mode in the conf file: refused at startup, at its line, before any request
cat >"$T/bad-mode.conf" <<CONF
credentials = ( { plugin = "imds";
                  endpoint_mode = "IPv5"; } );
discovery = { plugins = ( { plugin = "prefix"; } ); };
CONF
seq=$(emu_seq)
run_lmcp bad-mode-conf "${ON[@]}" AWS_EC2_METADATA_SERVICE_ENDPOINT= -- --check -c "$T/bad-mode.conf"
expect_check_error bad-mode-conf "$T/bad-mode.conf:2: endpoint_mode must be IPv4 or IPv6, not 'IPv5'"
check "bad-mode-conf: no request reached the metadata service" test -z "$(emu_ops "$seq")"
run_lmcp bad-mode-serve "${ON[@]}" AWS_EC2_METADATA_SERVICE_ENDPOINT= -- -c "$T/bad-mode.conf"
expect_check_error bad-mode-serve "$T/bad-mode.conf:2: endpoint_mode must be IPv4 or IPv6, not 'IPv5'"
# ... even with endpoint set (which makes the mode irrelevant): the line is wrong all the same
run_lmcp bad-mode-endpoint "${ON[@]}" -- --check -c "$T/bad-mode.conf"
expect_check_error bad-mode-endpoint "$T/bad-mode.conf:2: endpoint_mode must be IPv4 or IPv6, not 'IPv5'"

# a bad endpoint mode from the environment (shared with every AWS tool): reported when the chain
# reaches this source (no request can be made)
run_lmcp bad-mode "${ON[@]}" AWS_EC2_METADATA_SERVICE_ENDPOINT= AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv5 -- --check
expect_check_error bad-mode "imds: endpoint_mode (AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE) must be IPv4 or IPv6, not 'IPv5'"

# an instance without a role
emu POST /__emu/imds '{"role": null}' >/dev/null
run_lmcp no-role "${ON[@]}" -- --check
expect_check_error no-role "imds: the instance has no IAM role (no instance profile is attached)"

finish
