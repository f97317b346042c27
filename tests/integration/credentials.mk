# End-to-end tests of the credentials plugins against the emulator (see tests/integration/credentials/).
# Each is a bash script (SH_LOG_COMPILER) printing TAP-like ok / not ok lines; lib.sh runs the server
# in a clean environment with a temporary HOME and checks that no secret reaches its output.
# Only these: make check-credentials (one: make check TESTS=tests/integration/credentials/sso.sh)
CREDENTIALS_TESTS = \
	tests/integration/credentials/refresh.sh \
	tests/integration/credentials/slow-refresh.sh \
	tests/integration/credentials/env.sh \
	tests/integration/credentials/profile.sh \
	tests/integration/credentials/assume-role.sh \
	tests/integration/credentials/process.sh \
	tests/integration/credentials/web-identity.sh \
	tests/integration/credentials/sso.sh \
	tests/integration/credentials/sso-files.sh \
	tests/integration/credentials/imds.sh \
	tests/integration/credentials/container.sh \
	tests/integration/credentials/none.sh \
	tests/integration/credentials/echoed-secrets.sh

TESTS += $(CREDENTIALS_TESTS)
EXTRA_DIST += $(CREDENTIALS_TESTS) \
	tests/integration/credentials/lib.sh \
	tests/integration/credentials/credhelper.py \
	tests/integration/credentials/account.json \
	plugins/credentials/README.md

check-credentials: all
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(CREDENTIALS_TESTS) $(CRED_UNIT_TESTS)'
.PHONY: check-credentials
