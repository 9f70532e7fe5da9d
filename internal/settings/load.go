package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Dir is where the checked-in settings files live.
const Dir = "environments"

// DefaultEnv is the environment used when KILN_ENV is not set at all;
// an empty KILN_ENV reads no file.
const DefaultEnv = "wpt-live"

// key is one setting: its name in a file, the variable that overrides
// it, and how it is read and written.
type key struct {
	name string
	env  string
	get  func(*Settings) string
	set  func(*Settings, string) error
}

// field is a setting held as a plain string.
func field(name, env string, f func(*Settings) *string) key {
	return key{name, env,
		func(s *Settings) string { return *f(s) },
		func(s *Settings, v string) error { *f(s) = v; return nil }}
}

// keys are the settings a person may set, in the order errors name them.
var keys = []key{
	field("project", "KILN_PROJECT", func(s *Settings) *string { return &s.Project }),
	field("region", "KILN_REGION", func(s *Settings) *string { return &s.Region }),
	field("zone", "KILN_ZONE", func(s *Settings) *string { return &s.Zone }),
	field("mig", "KILN_MIG", func(s *Settings) *string { return &s.MIG }),
	field("family", "KILN_FAMILY", func(s *Settings) *string { return &s.Family }),
	field("bucket", "KILN_BUCKET", func(s *Settings) *string { return &s.Bucket }),
	field("container_image", "KILN_CONTAINER_IMAGE",
		func(s *Settings) *string { return &s.ContainerImage }),
	field("template", "KILN_TEMPLATE",
		func(s *Settings) *string { return &s.Template }),
	field("target_pool", "KILN_TARGET_POOL",
		func(s *Settings) *string { return &s.TargetPool }),
	{"deadline", "KILN_DEADLINE",
		func(s *Settings) string { return time.Duration(s.Deadline).String() },
		func(s *Settings, v string) error { return parseDuration(&s.Deadline, v) }},
	{"health_grace", "KILN_HEALTH_GRACE",
		func(s *Settings) string { return time.Duration(s.HealthGrace).String() },
		func(s *Settings, v string) error {
			return parseDuration(&s.HealthGrace, v)
		}},
	{"keep", "KILN_KEEP",
		func(s *Settings) string { return strconv.Itoa(s.Keep) },
		func(s *Settings, v string) error {
			n, err := strconv.Atoi(v)
			s.Keep = n
			return err
		}},
}

func parseDuration(d *Duration, v string) error {
	p, err := time.ParseDuration(v)
	*d = Duration(p)
	return err
}

var envName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Load reads the settings of the environment KILN_ENV names (default
// DefaultEnv) from dir, then lets the variables lookup knows override
// them. lookup is os.LookupEnv outside tests. A setting that is missing
// is not an error here: each target asks for what it needs with Require.
func Load(dir string, lookup func(string) (string, bool)) (Settings, error) {
	s := Settings{Policy: DefaultPolicy()}
	env := DefaultEnv
	if v, ok := lookup("KILN_ENV"); ok {
		env = v
	}
	if env != "" {
		if !envName.MatchString(env) {
			return Settings{}, fmt.Errorf("settings: KILN_ENV %q is not "+
				"an environment name such as %q", env, DefaultEnv)
		}
		s.Env = env
		s.File = filepath.Join(dir, env+".json")
		if err := s.read(); err != nil {
			return Settings{}, err
		}
	}
	if err := s.override(lookup); err != nil {
		return Settings{}, err
	}
	s.fill()
	if err := s.check(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

func (s *Settings) read() error {
	b, err := os.ReadFile(s.File)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("settings: environment %q has no file %s "+
			"(KILN_ENV chooses the environment)", s.Env, s.File)
	}
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(s); err != nil {
		return fmt.Errorf("settings: reading %s: %w", s.File, err)
	}
	return nil
}

// override applies the environment's variables. The MIG has one
// location, so a zone or a region from a variable replaces both from the
// file.
func (s *Settings) override(lookup func(string) (string, bool)) error {
	z, _ := lookup("KILN_ZONE")
	r, _ := lookup("KILN_REGION")
	if z != "" || r != "" {
		s.Zone, s.Region = "", ""
	}
	for _, k := range keys {
		v, ok := lookup(k.env)
		if !ok || v == "" {
			continue
		}
		if err := k.set(s, v); err != nil {
			return fmt.Errorf("settings: %s=%q: %w", k.env, v, err)
		}
	}
	if v, ok := lookup("KILN_COMPUTE_ENDPOINT"); ok {
		s.Endpoint = strings.TrimSuffix(v, "/")
	}
	if v, ok := lookup("KILN_STORAGE_ENDPOINT"); ok {
		s.StorageEndpoint = v
	}
	return nil
}

func (s *Settings) fill() {
	if s.Template == "" {
		s.Template = s.Family
	}
	if s.Deadline == 0 {
		s.Deadline = Duration(DefaultDeadline)
	}
	if s.HealthGrace == 0 {
		s.HealthGrace = Duration(DefaultHealthGrace)
	}
	if s.Keep == 0 {
		s.Keep = DefaultKeep
	}
}

var (
	gceName = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)
	// folderName is one path element: images/<template>, never above it.
	folderName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// check refuses values that cannot work, naming the key and where it
// came from.
func (s *Settings) check() error {
	if s.Zone != "" && s.Region != "" {
		return s.invalid("zone", "and region are both set (%s, %s): "+
			"set zone for a zonal MIG or region for a regional one",
			s.Zone, s.Region)
	}
	for _, k := range []struct{ name, v string }{
		{"mig", s.MIG}, {"family", s.Family}, {"target_pool", s.TargetPool},
	} {
		if k.v != "" && !gceName.MatchString(k.v) {
			return s.invalid(k.name, "%q is not a valid resource name", k.v)
		}
	}
	if s.Template != "" && !folderName.MatchString(s.Template) {
		return s.invalid("template", "%q is not a folder name under images/",
			s.Template)
	}
	p := s.Policy
	switch {
	case p.Type != "PROACTIVE":
		return s.invalid("policy.type", "is %q: a rollout replaces running "+
			"instances, which only PROACTIVE does", p.Type)
	case !slices.Contains([]string{"REPLACE", "RESTART", "REFRESH", "NONE"},
		p.MinimalAction):
		return s.invalid("policy.minimal_action", "%q is none of REPLACE, "+
			"RESTART, REFRESH, NONE", p.MinimalAction)
	case p.MaxSurge == nil || p.MaxUnavailable == nil:
		return s.invalid("policy", "needs max_surge and max_unavailable")
	case *p.MaxSurge < 0 || *p.MaxUnavailable < 0:
		return s.invalid("policy", "max_surge and max_unavailable must "+
			"not be negative")
	case *p.MaxSurge == 0 && *p.MaxUnavailable == 0:
		return s.invalid("policy", "max_surge and max_unavailable cannot "+
			"both be 0: the MIG could never replace an instance")
	case s.Deadline < 0 || s.HealthGrace < 0:
		return s.invalid("deadline", "and health_grace must be positive")
	case s.Keep < 1:
		return s.invalid("keep", "is %d: a prune keeps at least the "+
			"newest image", s.Keep)
	}
	return nil
}

func (s *Settings) invalid(name, format string, args ...any) error {
	return fmt.Errorf("settings: %s %s (%s)", name,
		fmt.Sprintf(format, args...), s.source(name))
}

// Require says which of the named settings is missing, and where it can
// be set. "location" stands for a zone or a region.
func (s Settings) Require(names ...string) error {
	for _, n := range names {
		if n == "location" {
			if s.Zone == "" && s.Region == "" {
				return fmt.Errorf("settings: region or zone is not set (%s)",
					s.source(n))
			}
			continue
		}
		i := slices.IndexFunc(keys, func(k key) bool { return k.name == n })
		if i < 0 {
			return fmt.Errorf("settings: no setting called %q", n)
		}
		if v := keys[i].get(&s); v == "" || v == "0" || v == "0s" {
			return fmt.Errorf("settings: %s is not set (%s)", n, s.source(n))
		}
	}
	return nil
}

// source says where a setting can be set: the file and the variable.
func (s Settings) source(name string) string {
	var vars []string
	for _, k := range keys {
		if k.name == name || strings.HasPrefix(name, k.name+".") ||
			(name == "location" && (k.name == "zone" || k.name == "region")) {
			vars = append(vars, k.env)
		}
	}
	var where []string
	if s.File != "" {
		where = append(where, filepath.ToSlash(s.File))
	}
	where = append(where, vars...)
	if s.File == "" {
		return strings.Join(append(where, "a file in "+Dir+
			" chosen by KILN_ENV"), " or ")
	}
	return strings.Join(where, " or ")
}
