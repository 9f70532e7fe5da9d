// Package template reads a Packer HCL2 template folder without Packer:
// it evaluates the variables and locals, and hands out the bodies of the
// sources and provisioners its builds use, with the context to decode
// them in. That is enough to prepare a component's configuration as
// Packer would, which lets a nightly release work out an image's inputs
// before it bakes.
//
// It knows what the templates under images/ use: variables, locals,
// path.root and path.cwd, build blocks naming their sources, and the
// provisioner meta-arguments, variables set by the environment, files
// and `-var`. What it does not model is refused, not guessed at:
// functions, data sources, variable validations, build-level source
// blocks, provisioner overrides, a source built twice, duplicate
// declarations and JSON files.
package template

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Template is a parsed, evaluated template folder.
type Template struct {
	Dir     string
	ctx     *hcl.EvalContext
	sources map[string]hcl.Body // by "type.name"
	builds  []build
}

// build is one build block: the sources it runs and its provisioners.
type build struct {
	sources      []string // "type.name"
	provisioners []provisioner
}

type provisioner struct {
	typ          string
	only, except []string // "type.name"
	body         hcl.Body // without the meta-arguments
}

// Block is a source or provisioner block ready to decode.
type Block struct {
	Type string
	Name string // the source's name; empty for a provisioner
	Body hcl.Body
}

var topSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "packer"},
	{Type: "variable", LabelNames: []string{"name"}},
	{Type: "locals"},
	{Type: "source", LabelNames: []string{"type", "name"}},
	{Type: "build"},
	{Type: "data", LabelNames: []string{"type", "name"}},
}}

// Load parses the *.pkr.hcl files in dir and evaluates its variables and
// its locals. A variable takes, as with Packer, the last of: its default,
// PKR_VAR_<name> from the environment, a *.auto.pkrvars.hcl file in dir,
// and vars, as `-var` sets them.
func Load(dir string, vars map[string]string) (*Template, error) {
	for _, pattern := range []string{"*.pkr.json", "*.auto.pkrvars.json"} {
		if js, _ := filepath.Glob(filepath.Join(dir, pattern)); len(js) > 0 {
			return nil, fmt.Errorf("reading template %s: JSON files "+
				"(%s) are not supported", dir, filepath.Base(js[0]))
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.pkr.hcl"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("reading template %s: no *.pkr.hcl file", dir)
	}
	slices.Sort(files)
	p := hclparse.NewParser()
	var blocks hcl.Blocks
	for _, f := range files {
		file, diags := p.ParseHCLFile(f)
		if diags.HasErrors() {
			return nil, fmt.Errorf("reading template: %w", diags)
		}
		content, diags := file.Body.Content(topSchema)
		if diags.HasErrors() {
			return nil, fmt.Errorf("reading template: %w", diags)
		}
		blocks = append(blocks, content.Blocks...)
	}

	cwd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("reading template: %w", err)
	}
	t := &Template{Dir: dir, sources: map[string]hcl.Body{},
		ctx: &hcl.EvalContext{Variables: map[string]cty.Value{
			"path": cty.ObjectVal(map[string]cty.Value{
				"root": cty.StringVal(dir), "cwd": cty.StringVal(cwd)}),
		}}}
	set, err := settings(p, dir, vars)
	if err != nil {
		return nil, err
	}
	if err := t.variables(blocks.OfType("variable"), set); err != nil {
		return nil, err
	}
	if err := t.locals(blocks.OfType("locals")); err != nil {
		return nil, err
	}
	if d := blocks.OfType("data"); len(d) > 0 {
		return nil, fmt.Errorf("reading template %s: data sources are "+
			"not supported (%s)", dir, d[0].DefRange)
	}
	for _, b := range blocks.OfType("source") {
		ref := b.Labels[0] + "." + b.Labels[1]
		if _, ok := t.sources[ref]; ok {
			return nil, fmt.Errorf("reading template %s: source %q is "+
				"declared twice (%s)", dir, ref, b.DefRange)
		}
		t.sources[ref] = b.Body
	}
	used := map[string]bool{}
	for _, b := range blocks.OfType("build") {
		bd, err := t.build(b)
		if err != nil {
			return nil, err
		}
		// Packer runs each build of a source on its own: their
		// provisioners are not one list.
		for _, ref := range bd.sources {
			if used[ref] {
				return nil, fmt.Errorf("reading template %s: source %q is "+
					"built more than once, which is not supported", dir, ref)
			}
			used[ref] = true
		}
		t.builds = append(t.builds, bd)
	}
	return t, nil
}

// Context is what a block is decoded in: var, local and path.
func (t *Template) Context() *hcl.EvalContext { return t.ctx }

// setting is a value set for a variable outside its block: a string as
// `-var` and the environment give it, or an expression from a file.
type setting struct {
	s    string
	expr hcl.Expression
}

// settings gathers what sets variables besides their defaults, later
// sources overriding earlier ones.
func settings(p *hclparse.Parser, dir string, vars map[string]string,
) (map[string]setting, error) {
	set := map[string]setting{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok &&
			strings.HasPrefix(k, "PKR_VAR_") {
			set[strings.TrimPrefix(k, "PKR_VAR_")] = setting{s: v}
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.auto.pkrvars.hcl"))
	if err != nil {
		return nil, fmt.Errorf("reading template: %w", err)
	}
	slices.Sort(files)
	for _, f := range files {
		file, diags := p.ParseHCLFile(f)
		if diags.HasErrors() {
			return nil, fmt.Errorf("reading template: %w", diags)
		}
		attrs, diags := file.Body.JustAttributes()
		if diags.HasErrors() {
			return nil, fmt.Errorf("reading template: %w", diags)
		}
		for name, a := range attrs {
			set[name] = setting{expr: a.Expr}
		}
	}
	for k, v := range vars {
		set[k] = setting{s: v}
	}
	return set, nil
}

// variables evaluates each variable: the value set for it, converted to
// its type as Packer does, or its default.
func (t *Template) variables(blocks hcl.Blocks, given map[string]setting,
) error {
	schema := &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
	}
	vals := map[string]cty.Value{}
	for _, b := range blocks {
		name := b.Labels[0]
		if _, ok := vals[name]; ok {
			return fmt.Errorf("variable %q: declared twice (%s)", name,
				b.DefRange)
		}
		content, _, diags := b.Body.PartialContent(schema)
		if diags.HasErrors() {
			return fmt.Errorf("variable %q: %w", name, diags)
		}
		if len(content.Blocks) > 0 {
			return fmt.Errorf("variable %q: validation blocks are not "+
				"supported (%s)", name, content.Blocks[0].DefRange)
		}
		// No type is cty.NilType, as in Packer: the default's type then.
		typ := cty.NilType
		if a, ok := content.Attributes["type"]; ok {
			if typ, diags = typeexpr.TypeConstraint(a.Expr); diags.HasErrors() {
				return fmt.Errorf("variable %q: type: %w", name, diags)
			}
		}
		v, err := value(name, typ, content.Attributes["default"], given)
		if err != nil {
			return err
		}
		vals[name] = v
	}
	for name, g := range given {
		// Packer ignores environment variables no block declares.
		if _, ok := vals[name]; !ok && g.expr == nil && !fromEnv(name) {
			return fmt.Errorf("variable %q: given but not declared", name)
		}
	}
	t.ctx.Variables["var"] = cty.ObjectVal(vals)
	return nil
}

// fromEnv tells whether the environment sets variable name.
func fromEnv(name string) bool {
	_, ok := os.LookupEnv("PKR_VAR_" + name)
	return ok
}

// value is one variable's value, from what set it or from its default,
// read as Packer reads it: a variable without a type takes its default's;
// a string from `-var` or the environment is taken as it is for a string
// or a number, and as an HCL expression for any other type or none.
func value(name string, typ cty.Type, def *hcl.Attribute,
	given map[string]setting,
) (cty.Value, error) {
	conv := func(v cty.Value) (cty.Value, error) {
		if typ == cty.NilType {
			return v, nil
		}
		v, err := convert.Convert(v, typ)
		if err != nil {
			return cty.NilVal, fmt.Errorf("variable %q: %w", name, err)
		}
		return v, nil
	}
	var dv cty.Value
	if def != nil {
		v, diags := def.Expr.Value(nil)
		if diags.HasErrors() {
			return cty.NilVal, fmt.Errorf("variable %q: default: %w", name,
				diags)
		}
		if typ == cty.NilType {
			typ = v.Type()
		}
		var err error
		if dv, err = conv(v); err != nil {
			return cty.NilVal, err
		}
	}
	g, ok := given[name]
	switch {
	case !ok && def != nil:
		return dv, nil
	case !ok:
		return cty.NilVal, fmt.Errorf("variable %q: no value given and "+
			"no default", name)
	case g.expr == nil && (typ == cty.String || typ == cty.Number):
		return conv(cty.StringVal(g.s))
	}
	expr := g.expr
	if expr == nil {
		var diags hcl.Diagnostics
		expr, diags = hclsyntax.ParseExpression([]byte(g.s), name,
			hcl.InitialPos)
		if diags.HasErrors() {
			return cty.NilVal, fmt.Errorf("variable %q: %w", name, diags)
		}
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() {
		return cty.NilVal, fmt.Errorf("variable %q: %w", name, diags)
	}
	return conv(v)
}

// locals evaluates the locals blocks; a local may use another, so each
// pass evaluates what it can until none is left.
func (t *Template) locals(blocks hcl.Blocks) error {
	todo := map[string]*hcl.Attribute{}
	for _, b := range blocks {
		attrs, diags := b.Body.JustAttributes()
		if diags.HasErrors() {
			return fmt.Errorf("locals: %w", diags)
		}
		for name, a := range attrs {
			if _, ok := todo[name]; ok {
				return fmt.Errorf("local %q: defined twice (%s)", name,
					a.Range)
			}
			todo[name] = a
		}
	}
	vals := map[string]cty.Value{}
	for len(todo) > 0 {
		t.ctx.Variables["local"] = cty.ObjectVal(vals)
		var last error
		done := 0
		for name, a := range todo {
			v, diags := a.Expr.Value(t.ctx)
			if diags.HasErrors() {
				last = fmt.Errorf("local %q: %w", name, diags)
				continue
			}
			vals[name] = v
			delete(todo, name)
			done++
		}
		if done == 0 {
			return last
		}
	}
	t.ctx.Variables["local"] = cty.ObjectVal(vals)
	return nil
}

var (
	buildSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "name"},
			{Name: "description"}, {Name: "sources"}},
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "source", LabelNames: []string{"reference"}},
			{Type: "provisioner", LabelNames: []string{"type"}},
			{Type: "post-processor", LabelNames: []string{"type"}},
			{Type: "post-processors"},
			{Type: "error-cleanup-provisioner", LabelNames: []string{"type"}},
			{Type: "hcp_packer_registry"},
		},
	}
	// metaSchema holds the provisioner arguments Packer takes for itself.
	metaSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "only"}, {Name: "except"}, {Name: "name"},
		{Name: "pause_before"}, {Name: "max_retries"}, {Name: "timeout"},
		{Name: "continue_on_error"}, {Name: "override"}}}
)

func (t *Template) build(b *hcl.Block) (build, error) {
	content, diags := b.Body.Content(buildSchema)
	if diags.HasErrors() {
		return build{}, fmt.Errorf("build: %w", diags)
	}
	if s := content.Blocks.OfType("source"); len(s) > 0 {
		return build{}, fmt.Errorf("build: source blocks are not "+
			"supported, name sources in `sources` (%s)", s[0].DefRange)
	}
	var bd build
	if a, ok := content.Attributes["sources"]; ok {
		refs, err := t.refs(a.Expr)
		if err != nil {
			return build{}, fmt.Errorf("build: sources: %w", err)
		}
		bd.sources = refs
	}
	for _, pb := range content.Blocks.OfType("provisioner") {
		meta, rest, diags := pb.Body.PartialContent(metaSchema)
		if diags.HasErrors() {
			return build{}, fmt.Errorf("provisioner %q: %w", pb.Labels[0],
				diags)
		}
		p := provisioner{typ: pb.Labels[0], body: rest}
		if a, ok := meta.Attributes["override"]; ok {
			// It changes the configuration per source, as Prepare's last.
			return build{}, fmt.Errorf("provisioner %q: override is not "+
				"supported (%s)", p.typ, a.Range)
		}
		for key, dst := range map[string]*[]string{"only": &p.only,
			"except": &p.except} {
			if a, ok := meta.Attributes[key]; ok {
				names, err := t.strings(a.Expr)
				if err != nil {
					return build{}, fmt.Errorf("provisioner %q: %s: %w",
						p.typ, key, err)
				}
				*dst = names
			}
		}
		if len(p.only) > 0 && len(p.except) > 0 {
			return build{}, fmt.Errorf("provisioner %q: only one of only "+
				"and except may be set", p.typ)
		}
		bd.provisioners = append(bd.provisioners, p)
	}
	return bd, nil
}

// refs reads a build's list of source references, "source.type.name"
// or "type.name", as "type.name".
func (t *Template) refs(expr hcl.Expression) ([]string, error) {
	names, err := t.strings(expr)
	if err != nil {
		return nil, err
	}
	var refs []string
	for _, n := range names {
		ref := strings.TrimPrefix(n, "source.")
		if strings.Count(ref, ".") != 1 {
			return nil, fmt.Errorf("%q is not a source reference", n)
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// strings reads a list of strings. A provisioner's only and except are
// such lists, which Packer compares with "type.name" as they are.
func (t *Template) strings(expr hcl.Expression) ([]string, error) {
	v, diags := expr.Value(t.ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	v, err := convert.Convert(v, cty.List(cty.String))
	if err != nil || v.IsNull() {
		return nil, errors.New("want a list of strings")
	}
	var out []string
	for _, e := range v.AsValueSlice() {
		out = append(out, e.AsString())
	}
	return out, nil
}

// Source is the one source of type typ that the template's builds use.
func (t *Template) Source(typ string) (Block, error) {
	var found []string
	for _, b := range t.builds {
		for _, ref := range b.sources {
			if strings.HasPrefix(ref, typ+".") && !slices.Contains(found, ref) {
				found = append(found, ref)
			}
		}
	}
	if len(found) != 1 {
		return Block{}, fmt.Errorf("template %s: %d builds of source type "+
			"%q, want one", t.Dir, len(found), typ)
	}
	body, ok := t.sources[found[0]]
	if !ok {
		return Block{}, fmt.Errorf("template %s: build names source %q, "+
			"which it does not declare", t.Dir, found[0])
	}
	_, name, _ := strings.Cut(found[0], ".")
	return Block{Type: typ, Name: name, Body: body}, nil
}

// Provisioners are the provisioners of type typ that run on source src
// ("type.name"), in their order.
func (t *Template) Provisioners(src Block, typ string) []Block {
	ref := src.Type + "." + src.Name
	var out []Block
	for _, b := range t.builds {
		if !slices.Contains(b.sources, ref) {
			continue
		}
		for _, p := range b.provisioners {
			if p.typ != typ || (len(p.only) > 0 && !slices.Contains(p.only, ref)) ||
				slices.Contains(p.except, ref) {
				continue
			}
			out = append(out, Block{Type: typ, Body: p.body})
		}
	}
	return out
}
