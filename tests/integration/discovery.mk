# End-to-end tests of discovery: tags (both strategies), Schema Registry (both types), argument
# validation, live refresh with both eras' notifications.
# Each is a node script run like the other integration tests (tests/integration/README.md): the
# built server through the official clients against the emulator, every message validated; see
# tests/integration/discovery/README.md for what each one proves.
# Only these: make check-discovery (one: make check TESTS=tests/integration/discovery/tags.test.mjs)
DISCOVERY_TESTS = \
	tests/integration/discovery/tags.test.mjs \
	tests/integration/discovery/list.test.mjs \
	tests/integration/discovery/schema-registry.test.mjs \
	tests/integration/discovery/metadata.test.mjs \
	tests/integration/discovery/refresh.test.mjs \
	tests/integration/discovery/scale.test.mjs

TESTS += $(DISCOVERY_TESTS)
EXTRA_DIST += $(DISCOVERY_TESTS) \
	tests/integration/discovery/common.mjs \
	tests/integration/discovery/README.md

check-discovery: all
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(DISCOVERY_TESTS)'

.PHONY: check-discovery
