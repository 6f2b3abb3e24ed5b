package httpapi

import (
	"strconv"
	"strings"
)

// maxAcceptRanges bounds the media ranges of an Accept header that are
// read: browsers send fewer than ten, and a header of thousands is no
// reason to spend time on it.
const maxAcceptRanges = 32

// prefersHTML reports whether an Accept header asks for an HTML page
// rather than a JSON document: text/html (or application/xhtml+xml) is
// named with a quality above zero and above that of every JSON type it
// names (application/json, application/ld+json, any +json). Wildcards
// vote for neither: a client sending */*, or nothing, is a program and
// keeps the document it always had; a browser names text/html.
func prefersHTML(accept string) bool {
	htmlQ, jsonQ := -1.0, -1.0
	for i, part := range strings.Split(accept, ",") {
		if i == maxAcceptRanges {
			break
		}
		mediaType, params, _ := strings.Cut(part, ";")
		mediaType = strings.ToLower(strings.TrimSpace(mediaType))
		q := acceptQuality(params)
		switch {
		case mediaType == "text/html" || mediaType == "application/xhtml+xml":
			htmlQ = max(htmlQ, q)
		case mediaType == "application/json" || strings.HasPrefix(mediaType, "application/") && strings.HasSuffix(mediaType, "+json"):
			jsonQ = max(jsonQ, q)
		}
	}
	return htmlQ > 0 && htmlQ > jsonQ
}

// acceptQuality reads the q parameter of a media range's parameters
// ("level=1; q=0.5"): 1 when absent, 0 when it is not a number from 0 to
// 1 (RFC 9110 §12.4.2), so that a malformed range counts for nothing.
func acceptQuality(params string) float64 {
	for p := range strings.SplitSeq(params, ";") {
		name, value, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		value = strings.TrimSpace(value)
		if len(value) == 0 || len(value) > 5 || strings.Trim(value, "0123456789.") != "" {
			return 0
		}
		q, err := strconv.ParseFloat(value, 64)
		if err != nil || q < 0 || q > 1 {
			return 0
		}
		return q
	}
	return 1
}

// acceptsGzip reports whether Accept-Encoding values (RFC 9110 §12.5.3)
// take gzip: named (or x-gzip), else matched by "*", with a weight above
// zero. A coding named outright wins over "*"; a malformed weight counts
// as zero, as in Accept.
func acceptsGzip(values []string) bool {
	star, n := false, 0
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			if n++; n > maxAcceptRanges {
				return star
			}
			name, params, _ := strings.Cut(item, ";")
			name = strings.ToLower(strings.TrimSpace(name))
			switch name {
			case "gzip", "x-gzip":
				return acceptQuality(params) > 0
			case "*":
				star = acceptQuality(params) > 0
			}
		}
	}
	return star
}
