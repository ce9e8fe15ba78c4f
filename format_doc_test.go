package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// formatDocPackages are the packages whose identifiers docs/FORMAT.md
// names, by the name the document uses for each.
var formatDocPackages = map[string]string{
	"kv":       "pkg/kv",
	"wal":      "pkg/wal",
	"entry":    "pkg/entry",
	"sstable":  "pkg/sstable",
	"manifest": "pkg/manifest",
	"vfs":      "pkg/vfs",
	"inspect":  "pkg/inspect",
	"crc32c":   "internal/crc32c",
}

// goSymbols is what a package declares: package-level names, and for each
// type the names of its fields and methods (with those of the types it
// embeds).
type goSymbols struct {
	names   map[string]bool
	members map[string]map[string]bool
	embeds  map[string][]string
}

func (s *goSymbols) hasMember(typ, name string, depth int) bool {
	if s.members[typ][name] {
		return true
	}
	if depth > 3 {
		return false
	}
	for _, e := range s.embeds[typ] {
		if s.hasMember(e, name, depth+1) {
			return true
		}
	}
	return false
}

func parseSymbols(t *testing.T, dir string) *goSymbols {
	t.Helper()
	s := &goSymbols{names: map[string]bool{}, members: map[string]map[string]bool{}, embeds: map[string][]string{}}
	member := func(typ, name string) {
		if s.members[typ] == nil {
			s.members[typ] = map[string]bool{}
		}
		s.members[typ][name] = true
	}
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					s.names[d.Name.Name] = true
					continue
				}
				member(receiverName(d.Recv.List[0].Type), d.Name.Name)
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch spec := spec.(type) {
					case *ast.ValueSpec:
						for _, n := range spec.Names {
							s.names[n.Name] = true
						}
					case *ast.TypeSpec:
						s.names[spec.Name.Name] = true
						st, ok := spec.Type.(*ast.StructType)
						if !ok {
							if it, ok := spec.Type.(*ast.InterfaceType); ok {
								for _, m := range it.Methods.List {
									for _, n := range m.Names {
										member(spec.Name.Name, n.Name)
									}
								}
							}
							continue
						}
						for _, field := range st.Fields.List {
							if len(field.Names) == 0 {
								e := receiverName(field.Type)
								member(spec.Name.Name, e)
								s.embeds[spec.Name.Name] = append(s.embeds[spec.Name.Name], e)
							}
							for _, n := range field.Names {
								member(spec.Name.Name, n.Name)
							}
						}
					}
				}
			}
		}
	}
	return s
}

// receiverName is the type name of a receiver or embedded field: T, *T,
// pkg.T or T[P].
func receiverName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return receiverName(e.X)
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return e.Sel.Name
	case *ast.IndexExpr:
		return receiverName(e.X)
	case *ast.IndexListExpr:
		return receiverName(e.X)
	}
	return ""
}

// TestFormatDocIdentifiers keeps docs/FORMAT.md true to the code: every
// backticked Go identifier of the form pkg.Name, pkg.Type.Member or
// Type.Member (a call's parentheses and arguments aside) must name
// something the code declares. pkg is one of formatDocPackages; Type is
// a type of one of them. Other dotted names (file names, the standard
// library's) are not checked.
func TestFormatDocIdentifiers(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("docs", "FORMAT.md"))
	if err != nil {
		t.Fatal(err)
	}
	syms := map[string]*goSymbols{}
	for name, dir := range formatDocPackages {
		syms[name] = parseSymbols(t, dir)
	}
	// typesIn maps a type name to the packages that declare it.
	typesIn := map[string][]string{}
	for pkg, s := range syms {
		for typ := range s.members {
			if s.names[typ] {
				typesIn[typ] = append(typesIn[typ], pkg)
			}
		}
	}
	code := regexp.MustCompile("`([^`\n]+)`")
	// Every dotted name in a code span, calls' arguments included; one
	// that follows a dot or a word character is part of a longer name.
	ident := regexp.MustCompile(`(?:^|[^\w.])([A-Za-z_]\w*)\.([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?`)
	checked := 0
	var bad []string
	for i, line := range strings.Split(string(doc), "\n") {
		for _, m := range code.FindAllStringSubmatch(line, -1) {
			for _, p := range ident.FindAllStringSubmatch(m[1], -1) {
				first, second, third := p[1], p[2], p[3]
				ok, known := false, false
				if s, isPkg := syms[first]; isPkg {
					known = true
					ok = s.names[second]
					// pkg.Type.Member: the member too, when Type is a
					// type of the package.
					if ok && third != "" && len(s.members[second]) > 0 {
						ok = s.hasMember(second, third, 0)
					}
				} else if pkgs := typesIn[first]; len(pkgs) > 0 {
					known = true
					for _, pkg := range pkgs {
						ok = ok || syms[pkg].hasMember(first, second, 0)
					}
				}
				if !known {
					continue
				}
				checked++
				if !ok {
					bad = append(bad, strings.TrimSpace(p[0])+" (line "+strconv.Itoa(i+1)+")")
				}
			}
		}
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Errorf("docs/FORMAT.md names %s, which the code does not declare", b)
	}
	if checked < 50 {
		t.Fatalf("only %d identifiers checked: the extraction is broken", checked)
	}
}
