# The vendor SDK: install, build the example plugin with pkg-config only, load it, list, call.
SDK_TESTS = tests/integration/sdk.test.sh
TESTS += $(SDK_TESTS)
EXTRA_DIST += $(SDK_TESTS)
