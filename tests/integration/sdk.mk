# The vendor SDK (install, build the example plugin with pkg-config only, load it, list, call),
# the host's signal handling (signals.test.sh), and an upgrade keeping an edited conf (install-conf.test.sh).
SDK_TESTS = tests/integration/sdk.test.sh tests/integration/signals.test.sh tests/integration/install-conf.test.sh
TESTS += $(SDK_TESTS)
EXTRA_DIST += $(SDK_TESTS)
