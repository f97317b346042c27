# End-to-end tests of the invocation pipeline: concurrency, cancellation, the wrapper plugins.
WRAPPERS_TESTS =

TESTS += $(WRAPPERS_TESTS)
