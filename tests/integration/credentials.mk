# End-to-end tests of the credentials plugins against the emulator (see tests/integration/credentials/).
CREDENTIALS_TESTS =

TESTS += $(CREDENTIALS_TESTS)
