# End-to-end tests of discovery: tags (both strategies), Schema Registry (both types), argument
# validation, live refresh with both eras' notifications.
DISCOVERY_TESTS =

TESTS += $(DISCOVERY_TESTS)
