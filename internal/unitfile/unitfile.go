// Package unitfile parses systemd unit files and checks the mistakes that
// only show up at boot: a unit that cannot be enabled, a command that is
// not a path, a user that does not exist.
package unitfile

import (
	"bufio"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Entry is one key=value line of a section.
type Entry struct {
	Section string
	Key     string
	Value   string
	Line    int
}

// Unit is a parsed unit file, entries in file order.
type Unit struct {
	Entries []Entry
}

// Parse reads a unit file in systemd's syntax: [Section] headers,
// Key=Value lines, # and ; comments, and lines continued by a trailing
// backslash.
func Parse(content string) (*Unit, error) {
	u := &Unit{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(content))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		start := n
		line := strings.TrimSpace(sc.Text())
		for strings.HasSuffix(line, `\`) && sc.Scan() {
			n++
			next := strings.TrimSpace(sc.Text())
			if strings.HasPrefix(next, "#") || strings.HasPrefix(next, ";") {
				continue
			}
			line = strings.TrimSpace(strings.TrimSuffix(line, `\`)) +
				" " + next
		}
		switch {
		case line == "", line[0] == '#', line[0] == ';':
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				return nil, fmt.Errorf("line %d: bad section header %q",
					start, line)
			}
			section = line[1 : len(line)-1]
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("line %d: %q is not Key=Value",
					start, line)
			}
			if section == "" {
				return nil, fmt.Errorf("line %d: %q is outside any section",
					start, key)
			}
			u.Entries = append(u.Entries, Entry{
				Section: section,
				Key:     strings.TrimSpace(key),
				Value:   strings.TrimSpace(value),
				Line:    start,
			})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading unit: %w", err)
	}
	return u, nil
}

// Get returns the values of key in section, in order.
func (u *Unit) Get(section, key string) []string {
	var out []string
	for _, e := range u.Entries {
		if e.Section == section && e.Key == key {
			out = append(out, e.Value)
		}
	}
	return out
}

// Installable says whether `systemctl enable` can act on the unit: it needs
// an [Install] section with something to install.
func (u *Unit) Installable() bool {
	for _, e := range u.Entries {
		if e.Section != "Install" {
			continue
		}
		switch e.Key {
		case "WantedBy", "RequiredBy", "UpheldBy", "Alias", "Also":
			if e.Value != "" {
				return true
			}
		}
	}
	return false
}

var execKey = regexp.MustCompile(`^Exec(Start|StartPre|StartPost|Stop|StopPost|Reload|Condition)$`)

// CheckExec returns an error for each Exec*= command that is not an
// absolute path once systemd's prefixes (@ - : + ! !!) are stripped.
func (u *Unit) CheckExec() []error {
	var errs []error
	for _, e := range u.Entries {
		if !execKey.MatchString(e.Key) || e.Value == "" {
			continue
		}
		cmd := strings.TrimLeft(e.Value, "@-:+!")
		if f := strings.Fields(cmd); len(f) > 0 {
			cmd = f[0]
		}
		if !path.IsAbs(cmd) {
			errs = append(errs, fmt.Errorf("line %d: %s=%s: the command "+
				"must be an absolute path", e.Line, e.Key, cmd))
		}
	}
	return errs
}

// Accounts returns the User= and Group= names the unit runs as, skipping
// numeric ids and specifiers (%i) that only resolve at run time.
func (u *Unit) Accounts() (users, groups []Entry) {
	for _, e := range u.Entries {
		var names []string
		switch e.Key {
		case "User", "Group":
			names = []string{e.Value}
		case "SupplementaryGroups":
			names = strings.Fields(e.Value)
		}
		for _, n := range names {
			if n == "" || strings.Contains(n, "%") || isNumber(n) {
				continue
			}
			one := e
			one.Value = n
			if e.Key == "User" {
				users = append(users, one)
			} else {
				groups = append(groups, one)
			}
		}
	}
	return users, groups
}

func isNumber(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

var unitNameRE = regexp.MustCompile(
	`^[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]*)?\.(service|socket|target|timer|mount|automount|path|slice|scope|swap|device)$`)

// ValidName says whether name is a unit file name systemd accepts.
func ValidName(name string) bool {
	return len(name) <= 255 && unitNameRE.MatchString(name)
}
