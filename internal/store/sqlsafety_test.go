package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Only parameterised SQL: every query text handed to pgx (Query, QueryRow,
// Exec, execQ, Batch.Queue) anywhere in the repository is a string literal
// or a named constant or variable, never built with Sprintf, + or
// strings.Join, so no value can reach SQL except as a $n parameter.
func TestNoStringBuiltSQL(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	sqlArg := map[string]int{"Query": 1, "QueryRow": 1, "Exec": 1, "execQ": 2, "Queue": 0}
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "node_modules" || strings.HasPrefix(n, ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			var name string
			switch fn := call.Fun.(type) {
			case *ast.SelectorExpr:
				name = fn.Sel.Name
			case *ast.Ident:
				name = fn.Name
			}
			i, ok := sqlArg[name]
			if !ok || len(call.Args) <= i {
				return true
			}
			arg := call.Args[i]
			if !mentionsSQL(arg) {
				return true // another API with the same method name
			}
			checked++
			if !constantText(arg) {
				t.Errorf("%s: %s builds its SQL text at run time; use $n parameters", fset.Position(arg.Pos()), name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d SQL call sites found: the scan is not looking at the code", checked)
	}
}

// mentionsSQL: the argument is, or is built from, a string literal that
// reads like SQL, or a plain identifier (a named query).
func mentionsSQL(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if l, ok := n.(*ast.BasicLit); ok && l.Kind == token.STRING {
			up := strings.ToUpper(l.Value)
			for _, kw := range []string{"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "DROP", "WITH ", "SET "} {
				found = found || strings.Contains(up, kw)
			}
		}
		return !found
	})
	return found
}

// constantText: a literal, an identifier, or literals and identifiers
// joined by + (a constant expression); anything with a call is not.
func constantText(e ast.Expr) bool {
	switch v := e.(type) {
	case *ast.BasicLit, *ast.Ident:
		return true
	case *ast.ParenExpr:
		return constantText(v.X)
	case *ast.BinaryExpr:
		return v.Op == token.ADD && literalOnly(v)
	}
	return false
}

// literalOnly: a + chain of string literals (identifiers in a chain could
// be run-time values) and quoted identifiers, pgx.Identifier{…}.Sanitize(),
// which DDL such as CREATE DATABASE needs because names cannot be $n.
func literalOnly(e ast.Expr) bool {
	switch v := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.CallExpr:
		sel, ok := v.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Sanitize" {
			return false
		}
		lit, ok := sel.X.(*ast.CompositeLit)
		if !ok {
			return false
		}
		typ, ok := lit.Type.(*ast.SelectorExpr)
		return ok && typ.Sel.Name == "Identifier"
	case *ast.ParenExpr:
		return literalOnly(v.X)
	case *ast.BinaryExpr:
		return literalOnly(v.X) && literalOnly(v.Y)
	}
	return false
}
