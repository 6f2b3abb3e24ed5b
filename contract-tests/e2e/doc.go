// Package e2e holds Credence's end-to-end scenarios: the tests build the
// real apps/api binary, start it on a free 127.0.0.1 port with its own data
// folder, and drive it over HTTP against SQLite and PostgreSQL (the latter
// through contract-tests/harness, skipped without a server unless
// CREDENCE_TEST_REQUIRE_SERVICES=1).
//
// Every scenario runs under t.Run("sqlite") and t.Run("postgres"); no
// response of the whole suite may be a 5xx.
//
// TestFaults (faults_test.go) also builds apps/worker and kills the
// processes running a bulk job with SIGKILL at random points: apps/worker
// over Redis (CREDENCE_TEST_REDIS_URL; it empties databases 9 and 10 of
// that server, refusing ones holding other keys than asynq's) and apps/api
// with its in-process queue on both stores. It is skipped under -short.
package e2e
