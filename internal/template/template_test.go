package template_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/kiln-images/kiln/internal/template"
)

// attrs evaluates a block's attributes in the template's context.
func attrs(t *testing.T, tpl *template.Template, b template.Block,
) map[string]cty.Value {
	t.Helper()
	as, diags := b.Body.JustAttributes()
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	out := map[string]cty.Value{}
	for name, a := range as {
		v, diags := a.Expr.Value(tpl.Context())
		if diags.HasErrors() {
			t.Fatalf("%s: %v", name, diags)
		}
		out[name] = v
	}
	return out
}

// load loads the template in dir with vars and evaluates its one
// kiln-local source.
func load(t *testing.T, dir string, vars map[string]string,
) (*template.Template, template.Block, map[string]cty.Value) {
	t.Helper()
	tpl, err := template.Load(dir, vars)
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	src, err := tpl.Source("kiln-local")
	if err != nil {
		t.Fatalf("Source() = %v", err)
	}
	return tpl, src, attrs(t, tpl, src)
}

// A source and its provisioners come out with variables (given,
// defaulted, converted to their types), locals that use each other and
// path.root evaluated; provisioners limited to other sources stay out.
func TestLoad(t *testing.T) {
	tpl, src, got := load(t, "testdata/ok", map[string]string{
		"image": "registry.example/web:1", "size": "8"})
	if src.Name != "web" {
		t.Errorf("Source().Name = %q, want web (the one the build uses)",
			src.Name)
	}
	if got["image_name"].AsString() != "web-8" {
		t.Errorf("image_name = %#v, want web-8", got["image_name"])
	}
	if !got["disk_size_gb"].RawEquals(cty.NumberIntVal(8)) {
		t.Errorf("disk_size_gb = %#v, want the number 8", got["disk_size_gb"])
	}
	if !got["packages"].RawEquals(cty.ListVal([]cty.Value{
		cty.StringVal("docker.io")})) {
		t.Errorf("packages = %#v, want the default list", got["packages"])
	}
	if in := got["inputs"].AsValueSlice(); len(in) != 1 ||
		in[0].AsString() != "testdata/ok" {
		t.Errorf("inputs = %#v, want [path.root]", got["inputs"])
	}

	ps := tpl.Provisioners(src, "kiln-container")
	if len(ps) != 1 {
		t.Fatalf("Provisioners(kiln-container) = %d blocks, want 1", len(ps))
	}
	p := attrs(t, tpl, ps[0])
	if p["image"].AsString() != "registry.example/web:1" || p["only"] != cty.NilVal {
		t.Errorf("provisioner = %#v, want the given image and no "+
			"meta-arguments", p)
	}
}

// What the package cannot evaluate the way Packer would is an error
// that names it.
func TestLoadRefuses(t *testing.T) {
	tests := []struct {
		name string
		hcl  string
		json bool // with a JSON variables file beside
		vars map[string]string
		want string
	}{{
		name: "no value",
		hcl:  `variable "image" { type = string }`,
		want: `variable "image": no value given and no default`,
	}, {
		name: "undeclared",
		hcl:  `variable "image" { default = "x" }`,
		vars: map[string]string{"imgae": "y"},
		want: `variable "imgae": given but not declared`,
	}, {
		name: "wrong type",
		hcl:  `variable "size" { type = number }`,
		vars: map[string]string{"size": "big"},
		want: `variable "size"`,
	}, {
		name: "function",
		hcl:  "locals {\n  name = lower(\"WEB\")\n}",
		want: `local "name"`,
	}, {
		name: "data source",
		hcl:  `data "http" "x" {}`,
		want: "data sources are not supported",
	}, {
		name: "build source block",
		hcl:  "build {\n  source \"source.kiln-local.web\" {}\n}",
		want: "source blocks are not supported",
	}, {
		name: "override",
		hcl: "build {\n  provisioner \"shell\" {\n" +
			"    override = { web = { inline = [\"x\"] } }\n  }\n}",
		want: `provisioner "shell": override is not supported`,
	}, {
		name: "only and except",
		hcl: "build {\n  provisioner \"shell\" {\n" +
			"    only   = [\"a.b\"]\n    except = [\"c.d\"]\n  }\n}",
		want: "only one of only and except",
	}, {
		name: "validation",
		hcl: "variable \"size\" {\n  default = 1\n" +
			"  validation {\n    condition = true\n" +
			"    error_message = \"x\"\n  }\n}",
		want: `variable "size": validation blocks are not supported`,
	}, {
		name: "variable twice",
		hcl:  "variable \"a\" { default = 1 }\nvariable \"a\" { default = 2 }",
		want: `variable "a": declared twice`,
	}, {
		name: "local twice",
		hcl:  "locals {\n  a = 1\n}\nlocals {\n  a = 2\n}",
		want: `local "a": defined twice`,
	}, {
		name: "source twice",
		hcl:  "source \"kiln-local\" \"a\" {}\nsource \"kiln-local\" \"a\" {}",
		want: `source "kiln-local.a" is declared twice`,
	}, {
		name: "source in two builds",
		hcl: "source \"kiln-local\" \"a\" {}\n" +
			"build {\n  sources = [\"kiln-local.a\"]\n}\n" +
			"build {\n  sources = [\"source.kiln-local.a\"]\n}",
		want: `source "kiln-local.a" is built more than once`,
	}, {
		name: "default's type",
		hcl:  `variable "flag" { default = false }`,
		vars: map[string]string{"flag": "maybe"},
		want: `variable "flag"`,
	}, {
		name: "json variables",
		hcl:  `variable "image" { default = "x" }`,
		json: true,
		want: "JSON files (x.auto.pkrvars.json) are not supported",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			err := os.WriteFile(filepath.Join(dir, "t.pkr.hcl"),
				[]byte(tt.hcl+"\n"), 0o644)
			if err != nil {
				t.Fatal(err)
			}
			if tt.json {
				err := os.WriteFile(filepath.Join(dir, "x.auto.pkrvars.json"),
					[]byte(`{"image": "y"}`), 0o644)
				if err != nil {
					t.Fatal(err)
				}
			}
			_, err = template.Load(dir, tt.vars)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load() = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// A build must name exactly one source of the type asked for, and
// declare it.
func TestSourceOfType(t *testing.T) {
	dir := t.TempDir()
	err := os.WriteFile(filepath.Join(dir, "t.pkr.hcl"), []byte(
		"build {\n  sources = [\"source.kiln-local.gone\"]\n}\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := template.Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpl.Source("kiln-local"); err == nil ||
		!strings.Contains(err.Error(), `"kiln-local.gone"`) {
		t.Errorf("Source() = %v, want an error naming the missing source",
			err)
	}
	if _, err := tpl.Source("kiln-gce"); err == nil ||
		!strings.Contains(err.Error(), "0 builds") {
		t.Errorf("Source(kiln-gce) = %v, want no build of it", err)
	}
}

// Variables are set as Packer sets them, each source overriding the one
// before: default, PKR_VAR_ in the environment, *.auto.pkrvars.hcl, -var.
func TestVariablePrecedence(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content),
			0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("t.pkr.hcl", `
variable "a" {
  default = "default"
}
variable "b" {
  default = "default"
}
variable "c" {
  default = "default"
}
variable "d" {
  type    = list(string)
  default = []
}
source "kiln-local" "t" {
  values = [var.a, var.b, var.c]
  list   = var.d
}
build {
  sources = ["source.kiln-local.t"]
}
`)
	write("x.auto.pkrvars.hcl", "b = \"file\"\nc = \"file\"\nd = [\"file\"]\n")
	t.Setenv("PKR_VAR_a", "env")
	t.Setenv("PKR_VAR_b", "env")
	t.Setenv("PKR_VAR_undeclared", "ignored")

	_, _, got := load(t, dir, map[string]string{"c": "flag"})
	var values []string
	for _, v := range got["values"].AsValueSlice() {
		values = append(values, v.AsString())
	}
	if strings.Join(values, " ") != "env file flag" {
		t.Errorf("a, b, c = %v, want env file flag", values)
	}
	if l := got["list"].AsValueSlice(); len(l) != 1 ||
		l[0].AsString() != "file" {
		t.Errorf("d = %#v, want [file] from the file", got["list"])
	}
}

// A variable without a type takes its default's, so a value set for it
// is converted as Packer converts it; a number or string from -var is
// taken as it is. A provisioner's only and except match "type.name" as
// written, and a meta-argument such as name is no part of its body.
func TestPackerSemantics(t *testing.T) {
	dir := t.TempDir()
	err := os.WriteFile(filepath.Join(dir, "t.pkr.hcl"), []byte(`
variable "size" {
  default = 4
}
variable "on" {
  default = false
}
variable "label" {
  type = string
}
source "kiln-local" "t" {
  disk_size_gb = var.size
  on           = var.on
  label        = var.label
}
build {
  sources = ["source.kiln-local.t"]
  provisioner "kiln-container" {
    only  = ["source.kiln-local.t"]
    image = "not run: only does not match source.kiln-local.t"
  }
  provisioner "kiln-container" {
    except = ["source.kiln-local.t"]
    name   = "run"
    image  = "run"
  }
}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	tpl, src, got := load(t, dir, map[string]string{"size": "8.0",
		"on": "true", "label": "1+1"})
	if !got["disk_size_gb"].RawEquals(cty.NumberIntVal(8)) {
		t.Errorf("disk_size_gb = %#v, want the number 8", got["disk_size_gb"])
	}
	if !got["on"].RawEquals(cty.True) {
		t.Errorf("on = %#v, want true", got["on"])
	}
	if !got["label"].RawEquals(cty.StringVal("1+1")) {
		t.Errorf("label = %#v, want the string 1+1", got["label"])
	}
	ps := tpl.Provisioners(src, "kiln-container")
	if len(ps) != 1 {
		t.Fatalf("Provisioners() = %d blocks, want the one except spares",
			len(ps))
	}
	if p := attrs(t, tpl, ps[0]); p["image"].AsString() != "run" ||
		p["name"] != cty.NilVal {
		t.Errorf("provisioner = %#v, want image run and no name", p)
	}
}
