package ports

import "github.com/credence-dev/credence/core/domain"

// ErrUnavailable matches errors saying that a service an adapter depends
// on cannot be reached or cannot serve now (the database is down,
// restarting, out of connections, or busy beyond its timeout). The
// operation failed, or, for a write whose connection broke after the
// database took it, its outcome is unknown; the same call may succeed once
// the service is back. Adapters translate their technology's errors into
// it at their edge, keeping the original in the chain for logs; the core
// passes it through unchanged, and the HTTP API answers it with 503
// UNAVAILABLE and Retry-After.
var ErrUnavailable = &domain.Error{Code: domain.CodeUnavailable,
	Detail: "the service cannot reach its database right now: retry after the seconds in Retry-After"}
