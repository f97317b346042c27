# The vendor SDK (install, build the example plugin with pkg-config only, load it, list, call),
# the host's signal handling (signals.test.sh), an upgrade keeping an edited conf (install-conf.test.sh),
# and the manual page against the server it documents (man.test.sh).
SDK_TESTS = tests/integration/sdk.test.sh tests/integration/signals.test.sh tests/integration/install-conf.test.sh \
	tests/integration/man.test.sh
TESTS += $(SDK_TESTS)
EXTRA_DIST += $(SDK_TESTS)
