// Package bulk issues one badge to many recipients from a CSV file: it
// reads the file, previews each row (new, renewal, active_time_bound,
// skipped or invalid) and runs the submitted job.
package bulk

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/credence-dev/credence/core/domain"
)

// MaxFileBytes is the largest bulk file accepted: 1 MiB.
const MaxFileBytes = 1 << 20

// MaxRows is the most data rows a bulk file may hold, a guard against
// files of tiny rows that the size limit alone lets through.
const MaxRows = 50000

// utf8BOM is the byte order mark Excel writes at the start of "CSV UTF-8".
const utf8BOM = "\xEF\xBB\xBF"

// ParseCSV reads a bulk file: a .csv file of UTF-8 text (a leading BOM is
// dropped) whose header row names a "name" and an "email" column, in any
// order and letter case; other columns are ignored. Blank rows are
// skipped, and a short row's missing cells read as empty. Row numbers
// count the data rows from 1, blank rows not included. Every refusal is a
// *domain.Error with code INVALID_CSV whose detail says what to fix.
func ParseCSV(fileName string, data []byte) ([]domain.CSVRow, error) {
	return parseFile(fileName, data, int64(len(data)))
}

// parseFile is ParseCSV of a file of size bytes of which data holds at
// least the beginning (all of it when size is within MaxFileBytes).
func parseFile(fileName string, data []byte, size int64) ([]domain.CSVRow, error) {
	if err := checkFile(fileName, data, size); err != nil {
		return nil, err
	}
	text := bytes.TrimPrefix(data, []byte(utf8BOM))
	if err := checkText(text, len(data)-len(text)); err != nil {
		return nil, err
	}
	return readRows(text)
}

// invalid builds an INVALID_CSV error.
func invalid(format string, args ...any) *domain.Error {
	return domain.Errorf(domain.CodeInvalidCSV, format, args...)
}

// checkFile checks the name, the size and that the content is not binary.
func checkFile(fileName string, data []byte, size int64) error {
	if !strings.HasSuffix(strings.ToLower(fileName), ".csv") {
		return invalid("only .csv files are accepted; got %s", quote(fileName))
	}
	if size > MaxFileBytes || len(data) > MaxFileBytes {
		return invalid("the file is %d bytes; the limit is %d bytes (1 MiB): split it into smaller files", max(size, int64(len(data))), MaxFileBytes)
	}
	if kind := binaryKind(data); kind != "" {
		return invalid("the file is not a CSV text file (it looks like %s); export it from the spreadsheet as CSV UTF-8", kind)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return invalid("the file is not a CSV text file (it has a NUL byte at offset %d, as binary and UTF-16 files do); export it as CSV UTF-8", i)
	}
	return nil
}

// signatures are the first bytes of file types people upload instead of
// a CSV file.
var signatures = []struct{ prefix, kind string }{
	{"PK\x03\x04", "a ZIP archive or an Excel .xlsx workbook"},
	{"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", "an Excel 97-2003 .xls workbook or another old Office file"},
	{"%PDF-", "a PDF document"},
	{"\x1F\x8B", "a gzip archive"},
	{"\x89PNG\r\n\x1A\n", "a PNG image"},
	{"\xFF\xD8\xFF", "a JPEG image"},
	{"GIF87a", "a GIF image"},
	{"GIF89a", "a GIF image"},
	{"7z\xBC\xAF\x27\x1C", "a 7-Zip archive"},
	{"Rar!\x1A\x07", "a RAR archive"},
	{"\x7FELF", "a program"},
	{"\xFF\xFE", "a UTF-16 text file"},
	{"\xFE\xFF", "a UTF-16 text file"},
}

// binaryKind names the file type data starts like, or returns "".
func binaryKind(data []byte) string {
	for _, s := range signatures {
		if bytes.HasPrefix(data, []byte(s.prefix)) {
			return s.kind
		}
	}
	return ""
}

// checkText refuses empty files, invalid UTF-8 and classic Mac line
// endings. bomLen is how many bytes were cut from the start of the file,
// so offsets count from the file's first byte.
func checkText(text []byte, bomLen int) error {
	if len(bytes.TrimSpace(text)) == 0 {
		return errEmpty()
	}
	if off := firstInvalidUTF8(text); off >= 0 {
		line := 1 + bytes.Count(text[:off], []byte("\n"))
		return invalid("line %d is not UTF-8: byte 0x%02X at offset %d (save the file as CSV UTF-8)", line, text[off], bomLen+off)
	}
	if !bytes.Contains(text, []byte("\n")) && bytes.Contains(bytes.TrimRight(text, "\r"), []byte("\r")) {
		return invalid("the lines end with a carriage return only (an old Mac format); save the file as CSV UTF-8")
	}
	return nil
}

// errEmpty is the refusal of a file without a header row.
func errEmpty() error {
	return invalid(`the file is empty: it needs a header row naming the "name" and "email" columns and one row per recipient`)
}

// firstInvalidUTF8 returns the offset of the first byte that is not part
// of valid UTF-8, or -1.
func firstInvalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// readRows parses text, checked to be UTF-8, into data rows.
func readRows(text []byte) ([]domain.CSVRow, error) {
	r := csv.NewReader(bytes.NewReader(text))
	r.FieldsPerRecord = -1 // rows may be shorter or longer than the header
	r.TrimLeadingSpace = false
	r.LazyQuotes = false // a stray quote is an error, not a guess
	r.ReuseRecord = true
	cols, err := readHeader(r, text)
	if err != nil {
		return nil, err
	}
	var rows []domain.CSVRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, parseError(err, text)
		}
		if blank(rec) {
			continue
		}
		if len(rows) == MaxRows {
			return nil, invalid("the file has more than %d rows; split it into files of at most %d rows each", MaxRows, MaxRows)
		}
		rows = append(rows, domain.CSVRow{Row: len(rows) + 1, Name: cell(rec, cols.name), Email: domain.NormalizeEmail(cell(rec, cols.email))})
	}
	if len(rows) == 0 {
		return nil, invalid("the file has no rows below the header: add one row per recipient")
	}
	return rows, nil
}

// columns holds the 0-based positions of the columns read.
type columns struct{ name, email int }

// readHeader reads the first row that is not blank and finds the columns.
func readHeader(r *csv.Reader, text []byte) (columns, error) {
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return columns{}, errEmpty()
		}
		if err != nil {
			return columns{}, parseError(err, text)
		}
		if !blank(rec) {
			return headerColumns(rec)
		}
	}
}

// headerColumns finds the name and email columns of a header row.
func headerColumns(header []string) (columns, error) {
	cols := columns{name: -1, email: -1}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")))
		var at *int
		switch h {
		case "name":
			at = &cols.name
		case "email":
			at = &cols.email
		default:
			continue
		}
		if *at >= 0 {
			return cols, invalid("the header row has two %q columns, %s and %s; keep one", h, columnName(*at), columnName(i))
		}
		*at = i
	}
	if cols.name < 0 || cols.email < 0 {
		return cols, invalid("the header row has no %s (found: %s)%s", missingColumns(cols), foundList(header), separatorHint(header))
	}
	return cols, nil
}

// missingColumns names the columns a header lacks.
func missingColumns(cols columns) string {
	switch {
	case cols.name < 0 && cols.email < 0:
		return `"name" and no "email" column`
	case cols.name < 0:
		return `"name" column`
	default:
		return `"email" column`
	}
}

// columnName names a 0-based column as a spreadsheet does: "column 3 (C)".
func columnName(i int) string {
	letters := ""
	for n := i + 1; n > 0; n = (n - 1) / 26 {
		letters = string(rune('A'+(n-1)%26)) + letters
	}
	return fmt.Sprintf("column %d (%s)", i+1, letters)
}

// maxFound is how many header cells a missing-column error lists.
const maxFound = 10

// foundList quotes the header cells for an error message.
func foundList(header []string) string {
	var parts []string
	for i, h := range header {
		if i == maxFound {
			parts = append(parts, fmt.Sprintf("and %d more", len(header)-maxFound))
			break
		}
		parts = append(parts, quote(h))
	}
	return strings.Join(parts, ", ")
}

// separatorHint explains a one-column header that holds another separator.
func separatorHint(header []string) string {
	if len(header) != 1 {
		return ""
	}
	for _, sep := range []string{";", "\t", "|"} {
		if strings.Contains(header[0], sep) {
			return fmt.Sprintf("; the columns seem separated by %q: save the file with commas", sep)
		}
	}
	return ""
}

// blank reports whether every cell of rec is empty or spaces.
func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// cell returns rec[i], or "" for a cell past the end of a short row.
func cell(rec []string, i int) string {
	if i < len(rec) {
		return rec[i]
	}
	return ""
}

// parseError turns a csv.ParseError into "line N, column M: reason",
// M counting characters, not bytes; a quote left open at the end of the
// file is reported on the line of the row it opens in.
func parseError(err error, text []byte) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return invalid("the file cannot be read as CSV: %v", err)
	}
	start := lineStart(text, pe.Line)
	at := min(start+max(pe.Column-1, 0), len(text))
	if errors.Is(pe.Err, csv.ErrQuote) && at >= len(bytes.TrimRight(text, "\r\n")) {
		return invalid(`line %d: a quoted field is never closed (the file ends inside it); add the missing "`, pe.StartLine)
	}
	msg := fmt.Sprintf("line %d, column %d: %s", pe.Line, utf8.RuneCount(text[start:at])+1, parseReason(pe.Err))
	if pe.StartLine != pe.Line {
		msg += fmt.Sprintf(" (in the row that starts on line %d)", pe.StartLine)
	}
	return invalid("%s", msg)
}

// parseReason words the errors of encoding/csv for people.
func parseReason(err error) string {
	switch {
	case errors.Is(err, csv.ErrBareQuote):
		return `a " appears inside a field that does not start with one; put the field in double quotes and double every " inside it`
	case errors.Is(err, csv.ErrQuote):
		return `a " inside a quoted field is not doubled ("")`
	default:
		return err.Error()
	}
}

// lineStart returns the offset of the 1-based line of text, or len(text)
// past the last line.
func lineStart(text []byte, line int) int {
	start := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(text[start:], '\n')
		if i < 0 {
			return len(text)
		}
		start += i + 1
	}
	return start
}

// maxQuoted is how many characters of a cell a message quotes.
const maxQuoted = 60

// quote quotes s for a message, cut to maxQuoted characters.
func quote(s string) string {
	n := 0
	for i := range s {
		if n == maxQuoted {
			return fmt.Sprintf("%q…", s[:i])
		}
		n++
	}
	return fmt.Sprintf("%q", s)
}
