package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/timewin"
)

// Error is one problem in a configuration. Load, Parse and Validate return
// one Error, or several joined with errors.Join; errors.As finds the first.
// Msg never contains the value of a secret or of an ${ENV_VAR}.
type Error struct {
	// Key is the key path, e.g. operators[1].window; "" for the document.
	Key string
	// Line is the line of the key in the file; 0 when unknown (a Config
	// built in code, or a key that is absent).
	Line int
	// Msg says what is wrong.
	Msg string
}

// Error formats "key: msg (line N)".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	return b.String()
}

// Problems splits an error from Load, Parse or Validate into its parts, in
// file order; a single error is returned as a one-element slice.
func Problems(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Problems(e)...)
		}
		return out
	}
	return []error{err}
}

// OneLine joins the problems of err with "; " for a one-line message.
func OneLine(err error) string {
	ps := Problems(err)
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Error()
	}
	return strings.Join(s, "; ")
}

// Load reads, decodes and validates the file at path. Relative paths in the
// file (numbering.ranges) are resolved against the file's directory.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, filepath.Dir(path))
}

// Parse decodes and validates a configuration. ${NAME} in a value (never in a
// key) is replaced by the environment variable NAME, which must be set; $${
// writes a literal ${. A key given as null (or with no value) keeps its
// default. Relative paths are resolved against baseDir ("" = as given).
// Decoding problems are reported without validating; otherwise the result
// is Validate's.
func Parse(data []byte, baseDir string) (*Config, error) {
	return parse(data, baseDir, os.LookupEnv)
}

// Limits of the decoder, so that no input (alias bombs, self-referencing
// merges, deep nesting) costs more than a bounded amount of work: the walk
// may visit each node of the document twice plus aliasSlack nodes more, so
// a large rate card is fine and exponential alias expansion is cut short.
const (
	aliasSlack = 10_000
	maxDepth   = 64
	maxErrors  = 200
)

// countNodes counts the nodes of the tree as written (aliases not followed).
func countNodes(n *yaml.Node) int {
	c := 1
	for _, k := range n.Content {
		c += countNodes(k)
	}
	return c
}

func parse(data []byte, baseDir string, env func(string) (string, bool)) (*Config, error) {
	root, err := readDocument(data)
	if err != nil {
		return nil, err
	}
	c := &Config{}
	c.prefill()
	d := &decoder{env: env, lines: map[string]int{}}
	if root != nil {
		d.budget = 2*countNodes(root) + aliasSlack
		d.decode(root, reflect.ValueOf(c).Elem(), "", 0)
	}
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	c.lines = d.lines
	c.finish(baseDir)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// readDocument parses the YAML text into a node tree. It returns nil for an
// empty document.
func readDocument(data []byte) (root *yaml.Node, err error) {
	// yaml.v3 has panicked on malformed input in past releases; a config
	// file must never crash the process, so a panic becomes an error.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, &Error{Msg: fmt.Sprintf("yaml: cannot parse: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, &Error{Msg: err.Error()}
	}
	// A trailing empty document ("---" at the end) is harmless; any other
	// second document would be silently ignored, so it is an error.
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &Error{Msg: err.Error()}
		}
		if len(extra.Content) > 0 && !isNull(extra.Content[0]) {
			return nil, &Error{Msg: "more than one YAML document", Line: extra.Line}
		}
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		return doc.Content[0], nil
	}
	return nil, nil
}

// decoder walks the node tree and the Go value together, so every problem
// can name its key path, and no key is silently ignored.
type decoder struct {
	env    func(string) (string, bool)
	errs   []error
	lines  map[string]int
	budget int
}

func (d *decoder) fail(path string, line int, format string, args ...any) {
	if len(d.errs) == maxErrors {
		d.errs = append(d.errs, &Error{Msg: "too many errors"})
	}
	if len(d.errs) > maxErrors {
		return
	}
	d.errs = append(d.errs, &Error{Key: path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// spend charges one node against the budget; false stops the walk.
func (d *decoder) spend(path string, n *yaml.Node, depth int) bool {
	d.budget--
	if d.budget == 0 {
		d.fail(path, n.Line, "document too large once aliases are expanded")
	}
	if d.budget <= 0 {
		return false
	}
	if depth > maxDepth {
		d.fail(path, n.Line, "nested too deeply")
		return false
	}
	return true
}

// deref follows aliases.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxDepth; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return "a single value"
	}
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	timeType     = reflect.TypeFor[time.Time]()
	textType     = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, depth int) {
	n = deref(n)
	if n == nil {
		d.fail(path, 0, "alias cycle")
		return
	}
	if !d.spend(path, n, depth) {
		return
	}
	if path != "" {
		if _, ok := d.lines[path]; !ok {
			d.lines[path] = n.Line
		}
	}
	if isNull(n) {
		return // absent: keep the default
	}
	t := v.Type()
	if t == tokenType {
		d.decodeToken(n, v, path, depth)
		return
	}
	if t == durationType || t == timeType || reflect.PointerTo(t).Implements(textType) {
		d.scalar(n, v, path)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		d.structure(n, v, path, depth)
	case reflect.Pointer:
		if v.IsNil() {
			nv := reflect.New(t.Elem())
			if p, ok := nv.Interface().(prefiller); ok {
				p.prefill()
			}
			v.Set(nv)
		}
		d.decode(n, v.Elem(), path, depth+1)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(path, n.Line, "want a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			ev := s.Index(i)
			if p, ok := ev.Addr().Interface().(prefiller); ok {
				p.prefill()
			}
			d.decode(item, ev, fmt.Sprintf("%s[%d]", path, i), depth+1)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(path, n.Line, "want a mapping, got %s", kindName(n))
			return
		}
		m := reflect.MakeMap(t)
		for _, p := range d.pairs(n, path, depth) {
			ev := reflect.New(t.Elem()).Elem()
			kp := join(path, p.key)
			d.lines[kp] = p.line
			d.decode(p.val, ev, kp, depth+1)
			m.SetMapIndex(reflect.ValueOf(p.key).Convert(t.Key()), ev)
		}
		v.Set(m)
	default:
		d.scalar(n, v, path)
	}
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, n.Line, "want a mapping, got %s", kindName(n))
		return
	}
	t := v.Type()
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		fields[name] = i
	}
	for _, p := range d.pairs(n, path, depth) {
		kp := join(path, p.key)
		i, ok := fields[p.key]
		if !ok {
			d.fail(kp, p.line, "unknown key")
			continue
		}
		d.lines[kp] = p.line
		d.decode(p.val, v.Field(i), kp, depth+1)
	}
}

type pair struct {
	key  string
	line int
	val  *yaml.Node
}

// pairs lists a mapping's entries with merge keys (<<) applied: explicit keys
// win over merged ones, earlier merge sources over later ones. A key given
// twice is an error.
func (d *decoder) pairs(n *yaml.Node, path string, depth int) []pair {
	if depth > maxDepth {
		d.fail(path, n.Line, "nested too deeply")
		return nil
	}
	var out, merged []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := deref(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			d.fail(path, n.Content[i].Line, "a key must be a single value")
			continue
		}
		if k.ShortTag() == "!!merge" {
			merged = append(merged, d.merge(val, path, depth+1)...)
			continue
		}
		if seen[k.Value] {
			d.fail(join(path, k.Value), k.Line, "key given twice")
			continue
		}
		seen[k.Value] = true
		out = append(out, pair{key: k.Value, line: k.Line, val: val})
	}
	for _, p := range merged {
		if !seen[p.key] {
			seen[p.key] = true
			out = append(out, p)
		}
	}
	return out
}

func (d *decoder) merge(val *yaml.Node, path string, depth int) []pair {
	src := deref(val)
	if src == nil || !d.spend(path, val, depth) {
		return nil
	}
	switch src.Kind {
	case yaml.MappingNode:
		return d.pairs(src, path, depth+1)
	case yaml.SequenceNode:
		var out []pair
		for _, item := range src.Content {
			m := deref(item)
			if m == nil || m.Kind != yaml.MappingNode {
				d.fail(path, item.Line, "a merge (<<) takes mappings")
				continue
			}
			out = append(out, d.pairs(m, path, depth+1)...)
		}
		return out
	}
	d.fail(path, val.Line, "a merge (<<) takes mappings")
	return nil
}

// scalar decodes a single value after ${ENV} expansion. Error messages show
// the value only when it was written literally in the file: an expanded
// value may be a secret.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(path, n.Line, "want a single value, got %s", kindName(n))
		return
	}
	raw := n.Value
	val, err := expand(raw, d.env)
	if err != nil {
		d.fail(path, n.Line, "%v", err)
		return
	}
	detail, hint := setScalar(v, val)
	if hint == "" {
		return
	}
	if val != raw {
		d.fail(path, n.Line, "%s (the value of %q is not shown)", hint, raw)
		return
	}
	d.fail(path, n.Line, "%s", detail)
}

// setScalar stores val into v. On failure it returns a detailed message
// (which may quote val) and a hint that never does.
func setScalar(v reflect.Value, val string) (detail, hint string) {
	t := v.Type()
	switch {
	case t == durationType:
		dur, err := ParseDuration(val)
		if err != nil {
			return err.Error(), "want a duration such as 30s, 10m, 72h or 14d"
		}
		v.SetInt(int64(dur))
		return "", ""
	case t == timeType:
		if strings.TrimSpace(val) == "" {
			v.Set(reflect.ValueOf(time.Time{}))
			return "", ""
		}
		tm, err := time.Parse(time.RFC3339, strings.TrimSpace(val))
		if err != nil {
			const h = "want an RFC 3339 time such as 2026-12-01T00:00:00Z"
			return fmt.Sprintf("%s, got %q", h, val), h
		}
		v.Set(reflect.ValueOf(tm))
		return "", ""
	case reflect.PointerTo(t).Implements(textType):
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(val)); err != nil {
			return err.Error(), textHint(t)
		}
		return "", ""
	}
	switch t.Kind() {
	case reflect.String:
		v.SetString(val)
	case reflect.Bool:
		switch strings.ToLower(strings.TrimSpace(val)) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return fmt.Sprintf("want true or false, got %q", val), "want true or false"
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := parseInt(val, t.Bits())
		if err != nil {
			return fmt.Sprintf("want an integer, got %q", val), "want an integer"
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, err := parseInt(val, 64)
		if err != nil || i < 0 || v.OverflowUint(uint64(i)) {
			return fmt.Sprintf("want a non-negative integer, got %q", val), "want a non-negative integer"
		}
		v.SetUint(uint64(i))
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(val), "_", ""), t.Bits())
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Sprintf("want a number, got %q", val), "want a number"
		}
		v.SetFloat(f)
	default:
		return "unsupported type " + t.String(), "unsupported type " + t.String()
	}
	return "", ""
}

// parseInt reads decimal (never octal: a leading 0 is just a zero) or
// 0x-prefixed hex, with optional _ separators.
func parseInt(s string, bits int) (int64, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), "_", "")
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 {
		return 0, strconv.ErrSyntax
	}
	base := 10
	if h, ok := strings.CutPrefix(strings.ToLower(body), "0x"); ok {
		body, base = h, 16
	}
	if neg {
		body = "-" + body
	}
	return strconv.ParseInt(body, base, bits)
}

func textHint(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[billing.Amount]():
		return "want a decimal amount with at most 6 fractional digits"
	case reflect.TypeFor[CommandStatus]():
		return "want a command_status such as 0x58 or 88"
	case reflect.TypeFor[FrequencyCap]():
		return "want N/<duration> with unit h or d, such as 1/14d"
	case reflect.TypeFor[QuietHours]():
		return "want HH:MM-HH:MM"
	case reflect.TypeFor[timewin.Weekly]():
		return "want a weekly window such as Mon-Fri 08:00-20:00"
	case reflect.TypeFor[timewin.Window]():
		return "want a window such as Sun 02:00-04:00 or 2026-12-24T22:00:00Z/2026-12-25T02:00:00Z"
	}
	return "invalid value"
}

// expand replaces ${NAME} with the environment variable NAME and $${ with a
// literal ${. An unset variable is an error naming it.
func expand(s string, env func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			b.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			b.WriteByte(s[i])
			i++
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", errors.New("unterminated ${ (write $${ for a literal ${)")
		}
		name := s[i+2 : i+2+end]
		if !isEnvName(name) {
			// The text may be part of a literal secret, so it is not shown.
			return "", errors.New("bad environment variable name in ${...} (write $${ for a literal ${)")
		}
		val, ok := env(name)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		b.WriteString(val)
		i += 3 + end
	}
	return b.String(), nil
}

func isEnvName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
