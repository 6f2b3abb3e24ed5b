// Package e2e holds Credence's end-to-end scenarios: the tests build the
// real apps/api binary, start it on a free 127.0.0.1 port with its own data
// folder, and drive it over HTTP against SQLite and PostgreSQL (the latter
// through contract-tests/harness, skipped without a server unless
// CREDENCE_TEST_REQUIRE_SERVICES=1).
//
// Every scenario runs under t.Run("sqlite") and t.Run("postgres"); no
// response of the whole suite may be a 5xx.
package e2e
