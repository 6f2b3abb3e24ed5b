package httpapi

import (
	"github.com/credence-dev/credence/ports"
)

// PageParams are the list query parameters every list shares.
type PageParams struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50" doc:"page size"`
	Cursor string `query:"cursor" maxLength:"100" doc:"nextCursor of the previous page"`
}

func (p PageParams) page() ports.Page { return ports.Page{After: p.Cursor, Limit: p.Limit} }

// List is a page of items.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty" doc:"pass as cursor for the next page; absent on the last page"`
}

// listOf maps a page of core values to wire values; a full page gets a cursor.
func listOf[C any, T any](in []C, limit int, conv func(C) T, cursor func(C) string) List[T] {
	out := List[T]{Items: make([]T, 0, len(in))}
	for _, c := range in {
		out.Items = append(out.Items, conv(c))
	}
	if limit > 0 && len(in) == limit {
		out.NextCursor = cursor(in[len(in)-1])
	}
	return out
}

// listOut answers a list.
type listOut[T any] struct {
	Body List[T]
}

// emptyOut answers nothing (204).
type emptyOut struct{}
