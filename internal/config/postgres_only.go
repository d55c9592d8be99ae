package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// LoadPostgres reads only the `postgres` section of the file at path, for
// the commands that need the database and nothing else (export, reconcile,
// import): a finance user is not asked for an SMSC password. The rest of
// the file must still be YAML, but its values are not expanded or checked.
func LoadPostgres(path string) (*Postgres, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parsePostgres(data, os.LookupEnv)
}

func parsePostgres(data []byte, env func(string) (string, bool)) (*Postgres, error) {
	root, err := readDocument(data)
	if err != nil {
		return nil, err
	}
	if root == nil || root.Kind != yaml.MappingNode {
		return nil, &Error{Key: "postgres.dsn", Msg: "required"}
	}
	c := &Config{}
	c.prefill()
	d := &decoder{env: env, lines: map[string]int{}, budget: 2*countNodes(root) + aliasSlack}
	var node *yaml.Node
	for _, p := range d.pairs(root, "", 0) {
		if p.key == "postgres" {
			node = p.val
		}
	}
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	if node == nil {
		return nil, &Error{Key: "postgres.dsn", Msg: "required"}
	}
	d.decode(node, reflect.ValueOf(&c.Postgres).Elem(), "postgres", 1)
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	if strings.TrimSpace(c.Postgres.DSN) == "" {
		return nil, &Error{Key: "postgres.dsn", Line: d.lines["postgres"], Msg: "required"}
	}
	return &c.Postgres, nil
}
