# End-to-end tests of the invocation pipeline: concurrency, cancellation, the wrapper plugins.
# Each is a node script run like the other integration tests (tests/integration/README.md),
# driving the server through the official clients against the emulator; see
# tests/integration/wrappers/README.md for what each one proves.
WRAPPERS_TESTS = \
	tests/integration/wrappers/pipeline.test.mjs \
	tests/integration/wrappers/cache.test.mjs \
	tests/integration/wrappers/rate-limit.test.mjs \
	tests/integration/wrappers/circuit-breaker.test.mjs \
	tests/integration/wrappers/audit.test.mjs \
	tests/integration/wrappers/log-tail.test.mjs

TESTS += $(WRAPPERS_TESTS)
EXTRA_DIST += $(WRAPPERS_TESTS) tests/integration/wrappers/README.md plugins/wrappers/README.md

# Only these: make check-wrappers
check-wrappers: all
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(WRAPPERS_TESTS)'

.PHONY: check-wrappers
