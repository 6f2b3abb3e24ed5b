// Package jsonld turns JSON-LD documents into canonical RDF (RDFC-1.0,
// the URDNA2015 algorithm) with json-gold, for Data Integrity proofs. It
// loads the contexts Credence's documents name from copies bundled in the
// binary (contexts/, see SOURCE.md) and never from the network: a
// document naming any other context is refused, as is one with a member
// no context defines (JSON-LD safe mode), which canonicalization would
// otherwise drop silently and leave unsigned.
package jsonld

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/piprate/json-gold/ld"

	"github.com/credence-dev/credence/ports"
)

//go:embed contexts/*.json contexts/*.jsonld
var files embed.FS

// bundled maps each context URL to its file.
var bundled = map[string]string{
	"https://www.w3.org/ns/credentials/v2":                       "contexts/credentials-v2.jsonld",
	"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "contexts/ob-v3p0-context-3.0.3.json",
	"https://www.w3.org/ns/credentials/examples/v2":              "contexts/credentials-examples-v2.jsonld",
}

// Canonicalizer is the json-gold ports.Canonicalizer.
type Canonicalizer struct {
	loader *ld.CachingDocumentLoader
}

var _ ports.Canonicalizer = (*Canonicalizer)(nil)

// New returns a canonicalizer over the bundled contexts, parsed once.
func New() (*Canonicalizer, error) {
	loader := ld.NewCachingDocumentLoader(offline{})
	for url, file := range bundled {
		data, err := files.ReadFile(file)
		if err != nil {
			return nil, err
		}
		doc, err := ld.DocumentFromReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("bundled context %s: %w", url, err)
		}
		loader.AddDocument(url, doc)
	}
	return &Canonicalizer{loader: loader}, nil
}

// offline is the loader behind the cache: anything not bundled.
type offline struct{}

func (offline) LoadDocument(url string) (*ld.RemoteDocument, error) {
	return nil, ld.NewJsonLdError(ld.LoadingDocumentFailed, fmt.Sprintf("the context %s is not bundled (no context is fetched)", url))
}

// Canonicalize returns doc's canonical N-Quads. It converts to RDF with
// safe mode on, then canonicalizes: json-gold's one-step Normalize drops
// the safe-mode option on the way.
func (c *Canonicalizer) Canonicalize(doc []byte) ([]byte, error) {
	var in any
	if err := json.Unmarshal(doc, &in); err != nil {
		return nil, fmt.Errorf("canonicalize: %w", err)
	}
	opts := ld.NewJsonLdOptions("")
	opts.DocumentLoader = c.loader
	opts.SafeMode = true
	rdf, err := ld.NewJsonLdProcessor().ToRDF(in, opts)
	if err != nil {
		return nil, fmt.Errorf("canonicalize: %w", err)
	}
	dataset, ok := rdf.(*ld.RDFDataset)
	if !ok {
		return nil, fmt.Errorf("canonicalize: json-gold returned %T", rdf)
	}
	opts.Algorithm, opts.Format = ld.AlgorithmURDNA2015, "application/n-quads"
	out, err := ld.NewJsonLdApi().Normalize(dataset, opts)
	if err != nil {
		return nil, fmt.Errorf("canonicalize: %w", err)
	}
	s, ok := out.(string)
	if !ok {
		return nil, fmt.Errorf("canonicalize: json-gold returned %T", out)
	}
	return []byte(s), nil
}

// CheckTerms expands doc in safe mode: a context not bundled, a redefined
// protected term, or a member that expands to no IRI is an error; so is a
// type or an id that is not an absolute IRI once expanded (json-gold's
// safe mode drops those silently). Expansion only, no canonicalization:
// its cost grows with the document, not faster.
func (c *Canonicalizer) CheckTerms(doc []byte) (err error) {
	// The document is a caller's: whatever json-gold does with it, a
	// panic is a refusal, never a crash.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the JSON-LD processor gave up on the document: %v", p)
		}
	}()
	var in any
	if err := json.Unmarshal(doc, &in); err != nil {
		return err
	}
	opts := ld.NewJsonLdOptions("")
	opts.DocumentLoader = c.loader
	opts.SafeMode = true
	expanded, err := ld.NewJsonLdProcessor().Expand(in, opts)
	if err != nil {
		return err
	}
	return absoluteIRIs(expanded)
}

// absoluteIRIs requires every @type and @id of an expanded document to be
// an absolute IRI or a blank node.
func absoluteIRIs(v any) error {
	switch v := v.(type) {
	case map[string]any:
		for k, member := range v {
			if k == "@type" || k == "@id" {
				if _, isValue := v["@value"]; k == "@type" && isValue {
					continue // a literal's datatype
				}
				ids, _ := member.([]any)
				if s, ok := member.(string); ok {
					ids = []any{s}
				}
				for _, id := range ids {
					if s, _ := id.(string); !absoluteIRI(s) {
						return fmt.Errorf("%s %q is not an absolute IRI: no context defines it", k, s)
					}
				}
				continue
			}
			if err := absoluteIRIs(member); err != nil {
				return err
			}
		}
	case []any:
		for _, item := range v {
			if err := absoluteIRIs(item); err != nil {
				return err
			}
		}
	}
	return nil
}

// absoluteIRI reports whether s is a blank node or an IRI with a scheme
// and no spaces.
func absoluteIRI(s string) bool {
	if strings.HasPrefix(s, "_:") {
		return true
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && !strings.ContainsAny(s, " \t\n\r<>\"{}|^`\\")
}
