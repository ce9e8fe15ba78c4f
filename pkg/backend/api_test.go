package backend

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"
)

// The interfaces a backend implements name no type of the engine
// (pkg/kv): a cluster backend could not produce a *kv.Batch or a
// *kv.Txn. The engine's error values are shared on purpose (see the
// package comment); its types are not.
func TestInterfacesNameNoEngineType(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "backend.go", nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	interfaces := 0
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.TYPE {
			continue
		}
		for _, spec := range g.Specs {
			ts := spec.(*ast.TypeSpec)
			it, ok := ts.Type.(*ast.InterfaceType)
			if !ok {
				continue
			}
			interfaces++
			ast.Inspect(it, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && id.Name == "kv" {
						t.Errorf("interface %s names kv.%s", ts.Name.Name, sel.Sel.Name)
					}
				}
				return true
			})
		}
	}
	if interfaces < 5 {
		t.Fatalf("found %d interfaces in backend.go; the test reads the wrong file", interfaces)
	}
}
