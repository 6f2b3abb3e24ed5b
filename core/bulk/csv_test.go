package bulk_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/credence-dev/credence/core/bulk"
	"github.com/credence-dev/credence/core/domain"
)

// rows builds the expected rows from name, email pairs, numbered from 1.
func rows(pairs ...string) []domain.CSVRow {
	var out []domain.CSVRow
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, domain.CSVRow{Row: len(out) + 1, Name: pairs[i], Email: pairs[i+1]})
	}
	return out
}

// sized returns a valid CSV file of exactly n bytes: a header with a notes
// column and one row whose note pads the file.
func sized(n int) []byte {
	head := "name,email,notes\nAlice,alice@example.com,"
	return []byte(head + strings.Repeat("x", n-len(head)))
}

func TestParseCSVAccepts(t *testing.T) {
	t.Parallel()
	alice := rows("Alice", "alice@example.com")
	for _, tc := range []struct {
		name string
		file string
		data string
		want []domain.CSVRow
	}{
		{"LF", "a.csv", "name,email\nAlice,alice@example.com\nBob,bob@example.com\n", rows("Alice", "alice@example.com", "Bob", "bob@example.com")},
		{"CRLF", "a.csv", "name,email\r\nAlice,alice@example.com\r\nBob,bob@example.com\r\n", rows("Alice", "alice@example.com", "Bob", "bob@example.com")},
		{"no final newline", "a.csv", "name,email\nAlice,alice@example.com", alice},
		{"BOM", "a.csv", "\xEF\xBB\xBFname,email\r\nAlice,alice@example.com\r\n", alice},
		{"upper-case extension", "LIST.CSV", "name,email\nAlice,alice@example.com\n", alice},
		{"header case and order", "a.csv", "EMAIL,Name\nalice@example.com,Alice\n", alice},
		{"header cells trimmed", "a.csv", " Name \t,  E-Mail,\tEmail \nAlice,x,alice@example.com\n", alice},
		{"quoted header", "a.csv", "\"name\",\"email\"\nAlice,alice@example.com\n", alice},
		{"extra columns ignored", "a.csv", "id,Email,notes,NAME\n7,alice@example.com,\"a, b\",Alice\n", alice},
		{"quoted comma", "a.csv", "name,email\n\"Doe, Jane\",jane@example.com\n", rows("Doe, Jane", "jane@example.com")},
		{"quoted quotes", "a.csv", "name,email\n\"Jane \"\"JD\"\" Doe\",jane@example.com\n", rows(`Jane "JD" Doe`, "jane@example.com")},
		{"quoted newline", "a.csv", "name,email\n\"Jane\nDoe\",jane@example.com\nBob,bob@example.com\n", rows("Jane\nDoe", "jane@example.com", "Bob", "bob@example.com")},
		{"quoted CRLF becomes LF", "a.csv", "name,email\r\n\"Jane\r\nDoe\",jane@example.com\r\n", rows("Jane\nDoe", "jane@example.com")},
		{"blank lines and empty rows skipped", "a.csv", "\n,,\nname,email\n\nAlice,alice@example.com\n,\n  ,  \n\r\nBob,bob@example.com\n\n", rows("Alice", "alice@example.com", "Bob", "bob@example.com")},
		{"rows of varying width", "a.csv", "name,email\nAlice,alice@example.com,extra,cells\nBob\n,carol@example.com\n", rows("Alice", "alice@example.com", "Bob", "", "", "carol@example.com")},
		{"email normalized, name as is", "a.csv", "name,email\n  Alice  , Alice@Example.COM \n", rows("  Alice  ", "alice@example.com")},
		{"invalid cells are rows", "a.csv", "name,email\n=1+1,not an email\n", rows("=1+1", "not an email")},
		{"lone CR inside a quoted field", "a.csv", "name,email\n\"A\rB\",a@example.com\n", rows("A\rB", "a@example.com")},
		{"UTF-8 names", "a.csv", "name,email\nJean-René Dupont,jr@example.com\n张伟,zw@example.com\n", rows("Jean-René Dupont", "jr@example.com", "张伟", "zw@example.com")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := bulk.ParseCSV(tc.file, []byte(tc.data))
			if err != nil {
				t.Fatalf("ParseCSV: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("rows = %+v\nwant   %+v", got, tc.want)
			}
		})
	}
}

func TestParseCSVLimits(t *testing.T) {
	t.Parallel()
	t.Run("exactly 1 MiB", func(t *testing.T) {
		t.Parallel()
		data := sized(bulk.MaxFileBytes)
		if len(data) != 1<<20 {
			t.Fatalf("test file is %d bytes", len(data))
		}
		got, err := bulk.ParseCSV("a.csv", data)
		if err != nil || len(got) != 1 {
			t.Fatalf("ParseCSV = %d rows, %v; want 1 row", len(got), err)
		}
	})
	t.Run("one quoted field of 1 MB", func(t *testing.T) {
		t.Parallel()
		field := strings.Repeat(`a,"b`+"\n", 160_000)
		data := "name,email\n\"" + strings.ReplaceAll(field, `"`, `""`) + "\",big@example.com\n"
		got, err := bulk.ParseCSV("a.csv", []byte(data))
		if err != nil {
			t.Fatalf("ParseCSV: %v", err)
		}
		if len(got) != 1 || got[0].Name != field || got[0].Email != "big@example.com" {
			t.Fatalf("rows = %d, name of %d bytes; want one row with the field", len(got), len(got[0].Name))
		}
	})
	t.Run("exactly MaxRows", func(t *testing.T) {
		t.Parallel()
		got, err := bulk.ParseCSV("a.csv", []byte("name,email\n"+strings.Repeat("a,b\n", bulk.MaxRows)))
		if err != nil || len(got) != bulk.MaxRows || got[len(got)-1].Row != bulk.MaxRows {
			t.Fatalf("ParseCSV = %d rows, %v; want %d", len(got), err, bulk.MaxRows)
		}
	})
}

func TestParseCSVRefuses(t *testing.T) {
	t.Parallel()
	const ok = "name,email\nAlice,alice@example.com\n"
	for _, tc := range []struct {
		name string
		file string
		data string
		want string // the exact detail
	}{
		{"xlsx name", "x.xlsx", ok, `only .csv files are accepted; got "x.xlsx"`},
		{"tsv name", "list.tsv", ok, `only .csv files are accepted; got "list.tsv"`},
		{"csv not at the end", "a.csv.exe", ok, `only .csv files are accepted; got "a.csv.exe"`},
		{"no name", "", ok, `only .csv files are accepted; got ""`},
		{"1 MiB + 1", "a.csv", string(sized(bulk.MaxFileBytes + 1)), "the file is 1048577 bytes; the limit is 1048576 bytes (1 MiB): split it into smaller files"},

		{"empty", "a.csv", "", `the file is empty: it needs a header row naming the "name" and "email" columns and one row per recipient`},
		{"only a BOM", "a.csv", "\xEF\xBB\xBF", `the file is empty: it needs a header row naming the "name" and "email" columns and one row per recipient`},
		{"only blank lines", "a.csv", "\xEF\xBB\xBF\r\n\n  \n", `the file is empty: it needs a header row naming the "name" and "email" columns and one row per recipient`},
		{"only empty cells", "a.csv", ",,\n , \n", `the file is empty: it needs a header row naming the "name" and "email" columns and one row per recipient`},
		{"only a header", "a.csv", "name,email\n", "the file has no rows below the header: add one row per recipient"},
		{"header and blank rows", "a.csv", "\xEF\xBB\xBFname,email\r\n\r\n,\r\n", "the file has no rows below the header: add one row per recipient"},

		{"xlsx content", "a.csv", "PK\x03\x04\x14\x00\x06\x00", "the file is not a CSV text file (it looks like a ZIP archive or an Excel .xlsx workbook); export it from the spreadsheet as CSV UTF-8"},
		{"xls content", "a.csv", "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00", "the file is not a CSV text file (it looks like an Excel 97-2003 .xls workbook or another old Office file); export it from the spreadsheet as CSV UTF-8"},
		{"PDF content", "a.csv", "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n", "the file is not a CSV text file (it looks like a PDF document); export it from the spreadsheet as CSV UTF-8"},
		{"gzip content", "a.csv", "\x1F\x8B\x08\x00", "the file is not a CSV text file (it looks like a gzip archive); export it from the spreadsheet as CSV UTF-8"},
		{"PNG content", "a.csv", "\x89PNG\r\n\x1A\n\x00\x00\x00\rIHDR", "the file is not a CSV text file (it looks like a PNG image); export it from the spreadsheet as CSV UTF-8"},
		{"UTF-16 with BOM", "a.csv", "\xFF\xFEn\x00a\x00m\x00e\x00", "the file is not a CSV text file (it looks like a UTF-16 text file); export it from the spreadsheet as CSV UTF-8"},
		{"UTF-16 without BOM", "a.csv", "n\x00a\x00m\x00e\x00", "the file is not a CSV text file (it has a NUL byte at offset 1, as binary and UTF-16 files do); export it as CSV UTF-8"},
		{"NUL in text", "a.csv", "name,email\nAl\x00ice,a@example.com\n", "the file is not a CSV text file (it has a NUL byte at offset 13, as binary and UTF-16 files do); export it as CSV UTF-8"},

		{"Latin-1", "a.csv", "name,email\nAlice Martin,alice.martin@example.com\nJean-Ren\xE9 Dupont,jean-rene@example.com\n", "line 3 is not UTF-8: byte 0xE9 at offset 57 (save the file as CSV UTF-8)"},
		{"Latin-1 after a BOM", "a.csv", "\xEF\xBB\xBFname,email\nJos\xE9,jose@example.com\n", "line 2 is not UTF-8: byte 0xE9 at offset 17 (save the file as CSV UTF-8)"},
		{"Latin-1 header", "a.csv", "n\xE4me,email\n", "line 1 is not UTF-8: byte 0xE4 at offset 1 (save the file as CSV UTF-8)"},
		{"truncated sequence", "a.csv", "name,email\nA,a@example.com\nB\xE2\x82,b@example.com\n", "line 3 is not UTF-8: byte 0xE2 at offset 28 (save the file as CSV UTF-8)"},
		{"surrogate encoded", "a.csv", "name,email\n\xED\xA0\x80,a@example.com\n", "line 2 is not UTF-8: byte 0xED at offset 11 (save the file as CSV UTF-8)"},
		{"CR-only lines", "a.csv", "name,email\rAlice,alice@example.com\r", "the lines end with a carriage return only (an old Mac format); save the file as CSV UTF-8"},

		{"bare quote", "a.csv", "name,email\nJa\"ne,jane@example.com\n", `line 2, column 3: a " appears inside a field that does not start with one; put the field in double quotes and double every " inside it`},
		{"bare quote after non-ASCII", "a.csv", "name,email\nRené \"R\",rene@example.com\n", `line 2, column 6: a " appears inside a field that does not start with one; put the field in double quotes and double every " inside it`},
		{"quote not doubled", "a.csv", "name,email\n\"Ja\"ne\",jane@example.com\n", `line 2, column 4: a " inside a quoted field is not doubled ("")`},
		{"quote never closed", "a.csv", "name,email\n\"Jane,jane@example.com\nBob,bob@example.com\n", `line 2: a quoted field is never closed (the file ends inside it); add the missing "`},
		{"quote never closed, later row", "a.csv", "name,email\nAlice,alice@example.com\nBob,\"bob@example.com\n", `line 3: a quoted field is never closed (the file ends inside it); add the missing "`},
		{"quote never closed, CRLF", "a.csv", "name,email\r\n\"Jane,jane@example.com\r\n", `line 2: a quoted field is never closed (the file ends inside it); add the missing "`},

		{"no email column", "a.csv", "Name,mail\nAlice,alice@example.com\n", `the header row has no "email" column (found: "Name", "mail")`},
		{"no name column", "a.csv", "full name,email\nAlice,alice@example.com\n", `the header row has no "name" column (found: "full name", "email")`},
		{"no header at all", "a.csv", "Alice,alice@example.com\nBob,bob@example.com\n", `the header row has no "name" and no "email" column (found: "Alice", "alice@example.com")`},
		{"semicolons", "a.csv", "name;email\nAlice;alice@example.com\n", `the header row has no "name" and no "email" column (found: "name;email"); the columns seem separated by ";": save the file with commas`},
		{"tabs", "a.csv", "name\temail\nAlice\talice@example.com\n", `the header row has no "name" and no "email" column (found: "name\temail"); the columns seem separated by "\t": save the file with commas`},
		{"many header cells", "a.csv", "a,b,c,d,e,f,g,h,i,j,k,l,email\n", `the header row has no "name" column (found: "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", and 3 more)`},
		{"long header cell", "a.csv", strings.Repeat("n", 100) + ",email\n", `the header row has no "name" column (found: "` + strings.Repeat("n", 60) + `"…, "email")`},
		{"repeated email column", "a.csv", "name,email,Email\nA,a@example.com,b@example.com\n", `the header row has two "email" columns, column 2 (B) and column 3 (C); keep one`},
		{"repeated name column", "a.csv", "NAME,email,x,y,z,a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w, name\n", `the header row has two "name" columns, column 1 (A) and column 29 (AC); keep one`},

		{"too many rows", "a.csv", "name,email\n" + strings.Repeat("a,b\n", bulk.MaxRows+1), "the file has more than 50000 rows; split it into files of at most 50000 rows each"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := bulk.ParseCSV(tc.file, []byte(tc.data))
			if err == nil {
				t.Fatalf("ParseCSV accepted the file: %+v", got)
			}
			var de *domain.Error
			if !errors.As(err, &de) || de.Code != domain.CodeInvalidCSV || !errors.Is(err, domain.ErrInvalidCSV) {
				t.Fatalf("err = %v (%T), want a *domain.Error with code INVALID_CSV", err, err)
			}
			if de.Detail != tc.want {
				t.Errorf("detail = %s\nwant     %s", de.Detail, tc.want)
			}
			if got != nil {
				t.Errorf("rows = %+v, want none", got)
			}
		})
	}
}

// TestParseCSVFirstRefusalWins pins the order of the file checks: name,
// size, content type, then encoding.
func TestParseCSVFirstRefusalWins(t *testing.T) {
	t.Parallel()
	big := append([]byte("PK\x03\x04"), make([]byte, bulk.MaxFileBytes)...)
	for _, tc := range []struct {
		file string
		data []byte
		want string
	}{
		{"a.xlsx", big, "only .csv files are accepted"},
		{"a.csv", big, "the file is 1048580 bytes"},
		{"a.csv", []byte("%PDF-\xE9"), "it looks like a PDF document"},
		{"a.csv", []byte("\xE9\x00"), "NUL byte at offset 1"},
	} {
		_, err := bulk.ParseCSV(tc.file, tc.data)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseCSV(%q, %d bytes) = %v, want %q", tc.file, len(tc.data), err, tc.want)
		}
	}
}

func ExampleParseCSV() {
	_, err := bulk.ParseCSV("recipients.csv", []byte("Name,mail\nAlice,alice@example.com\n"))
	fmt.Println(domain.CodeOf(err), err)
	// Output: INVALID_CSV the header row has no "email" column (found: "Name", "mail")
}
