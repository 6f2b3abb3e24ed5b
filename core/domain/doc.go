// Package domain holds Credence's entities, value objects, pure rules and
// typed errors. It imports only the standard library.
package domain
