package gcetest

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

// member is one instance of a group. Its target is the template it is
// being made from or moved to; template is the one it runs now.
type member struct {
	name     string
	link     string
	zone     string // "zones/Z"
	id       uint64
	ip       string
	template string
	target   string
	version  string

	action      string // CREATING, VERIFYING, RECREATING, RESTARTING, DELETING, NONE
	status      string // empty until created, then PROVISIONING ... RUNNING, STOPPING
	health      string // UNKNOWN, HEALTHY or UNHEALTHY once running
	healthyOnce bool
	runningAt   time.Time // when it last came up
	lastErr     *apiError
}

// advanceMIG moves every instance of g one state on, then plans what the
// group does next.
func (e *Emulator) advanceMIG(g *mig) {
	kept := g.members[:0]
	for _, m := range g.members {
		if e.advanceMember(g, m) {
			kept = append(kept, m)
		}
	}
	clear(g.members[len(kept):])
	g.members = kept
	e.plan(g)
}

// advanceMember moves one instance one state on. It returns false once
// the instance is gone.
func (e *Emulator) advanceMember(g *mig, m *member) bool {
	switch {
	case m.action == "DELETING":
		return false
	case m.status == "STOPPING" && m.action == "RESTARTING":
		m.template, m.status = m.target, "STAGING"
		m.health, m.healthyOnce = "", false
	case m.status == "STOPPING":
		m.status, m.health, m.healthyOnce = "", "", false
		e.tryCreate(g, m)
	case m.status == "":
		e.tryCreate(g, m)
	case m.status == "PROVISIONING":
		if held, _ := templateSetting(e.templateHold, m.template); !held {
			m.status = "STAGING"
		}
	case m.status == "STAGING":
		m.status, m.health, m.runningAt = "RUNNING", "UNKNOWN", e.now
		m.action = "NONE"
		if autohealing(g) {
			m.action = "VERIFYING"
		}
	case m.status == "RUNNING":
		m.health = "HEALTHY"
		if h, ok := templateSetting(e.templateSick, m.template); ok {
			m.health = h
		}
		if m.health == "HEALTHY" {
			m.healthyOnce = true
			if m.action == "VERIFYING" {
				m.action = "NONE"
			}
		}
		if m.health == "UNHEALTHY" && e.repairDue(g, m) {
			// Autohealing recreates it under its own name, from the
			// template it runs, and waits out the initial delay again.
			m.action, m.status = "RECREATING", "STOPPING"
		}
	}
	return true
}

// defaultInitialDelay is the autohealing delay GCE applies when a
// policy sets none.
const defaultInitialDelay = 300 * time.Second

// repairDue tells whether autohealing acts on an unhealthy instance: the
// group heals, and the instance has been up for the initial delay.
func (e *Emulator) repairDue(g *mig, m *member) bool {
	if !autohealing(g) {
		return false
	}
	delay := defaultInitialDelay
	if p := g.igm.GetAutoHealingPolicies()[0]; p.InitialDelaySec != nil {
		delay = time.Duration(p.GetInitialDelaySec()) * time.Second
	}
	return e.now.Sub(m.runningAt) >= delay
}

// tryCreate makes the instance from its target template, or records why
// it cannot; the group tries again at the next step, for ever.
func (e *Emulator) tryCreate(g *mig, m *member) {
	err := e.creatable(g.k.project, m.target)
	if err != nil {
		m.lastErr = err
		g.errors = slices.Insert(g.errors, 0,
			&computepb.InstanceManagedByIgmError{
				Error: &computepb.InstanceManagedByIgmErrorManagedInstanceError{
					Code:    proto.String(err.operationCode()),
					Message: proto.String(err.message),
				},
				InstanceActionDetails: &computepb.InstanceManagedByIgmErrorInstanceActionDetails{
					Action:   proto.String(m.action),
					Instance: proto.String(m.link),
					Version: &computepb.ManagedInstanceVersion{
						InstanceTemplate: proto.String(m.target),
						Name:             proto.String(m.version),
					},
				},
				Timestamp: proto.String(e.now.Format(timeFormat)),
			})
		g.errors = g.errors[:min(len(g.errors), 100)]
		return
	}
	m.lastErr = nil
	m.template = m.target
	m.status = "PROVISIONING"
}

// creatable says why an instance cannot be made from a template: the
// template is gone, or its image is missing, OBSOLETE or DELETED.
func (e *Emulator) creatable(project, template string) *apiError {
	t, ok := e.template(project, template)
	if !ok {
		return errMissing(template)
	}
	if src := bootImage(t); src != "" {
		if _, err := e.usableImage(project, src); err != nil {
			return err
		}
	}
	return nil
}

func autohealing(g *mig) bool { return len(g.igm.GetAutoHealingPolicies()) > 0 }

// available tells whether an instance serves: it runs, is not being
// taken down and, when the group heals automatically, has been healthy.
func available(g *mig, m *member) bool {
	switch m.action {
	case "DELETING", "RECREATING", "RESTARTING":
		return false
	}
	return m.status == "RUNNING" && (!autohealing(g) || m.healthyOnce)
}

// survey compares a group's instances with what its versions ask for.
type survey struct {
	want      map[string]int // instances wanted per template
	order     []string       // templates in the order of the versions
	live      int            // instances not being deleted
	total     int            // all instances
	outdated  []*member      // instances no version wants
	deficit   map[string]int // instances missing per template
	available int
}

func (s *survey) missing() int {
	n := 0
	for _, d := range s.deficit {
		n += d
	}
	return n
}

// wants splits the target size among the versions: fixed sizes and
// percents (rounded up) first, the version without a size takes the rest.
func wants(igm *computepb.InstanceGroupManager) (map[string]int, []string) {
	n := int(igm.GetTargetSize())
	want := map[string]int{}
	var order []string
	rest, base := n, ""
	for _, v := range igm.GetVersions() {
		t := v.GetInstanceTemplate()
		order = append(order, t)
		if v.TargetSize == nil {
			base = t
			continue
		}
		size := int(v.GetTargetSize().GetFixed())
		if v.GetTargetSize().Percent != nil {
			size = (int(v.GetTargetSize().GetPercent())*n + 99) / 100
		}
		size = min(size, rest)
		want[t] += size
		rest -= size
	}
	want[base] += rest
	return want, order
}

func (e *Emulator) survey(g *mig) *survey {
	s := &survey{deficit: map[string]int{}}
	s.want, s.order = wants(g.igm)
	byTarget := map[string][]*member{}
	for _, m := range g.members {
		s.total++
		if m.action == "DELETING" {
			continue
		}
		s.live++
		if available(g, m) {
			s.available++
		}
		byTarget[m.target] = append(byTarget[m.target], m)
	}
	for t, ms := range byTarget {
		extra := len(ms) - s.want[t]
		if extra <= 0 {
			continue
		}
		// The least useful go first: those not serving, then the newest.
		slices.SortFunc(ms, func(a, b *member) int {
			return cmp.Or(cmpBool(available(g, a), available(g, b)),
				strings.Compare(b.name, a.name))
		})
		s.outdated = append(s.outdated, ms[:extra]...)
	}
	slices.SortFunc(s.outdated, func(a, b *member) int {
		return cmp.Or(cmpBool(available(g, a), available(g, b)),
			strings.Compare(a.name, b.name))
	})
	for t, n := range s.want {
		if d := n - len(byTarget[t]); d > 0 {
			s.deficit[t] = d
		}
	}
	return s
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	default:
		return -1
	}
}

// plan starts the actions that bring a group closer to its versions
// within its update policy. Under OPPORTUNISTIC, only the target size is
// kept: existing instances stay as they are. Under PROACTIVE, outdated
// instances are replaced while no more than maxUnavailable instances are
// down and no more than maxSurge instances are added above the target
// size.
func (e *Emulator) plan(g *mig) {
	s := e.survey(g)
	p := g.igm.GetUpdatePolicy()
	n := int(g.igm.GetTargetSize())
	proactive := p.GetType() == "PROACTIVE"
	surge := resolve(p.GetMaxSurge(), int32(n))
	budget := s.available - (n - resolve(p.GetMaxUnavailable(), int32(n)))

	if !proactive {
		// Only a smaller target size removes instances.
		for _, m := range s.outdated {
			if s.live <= n {
				break
			}
			e.startDeleting(m)
			s.live--
		}
		s.outdated = nil
	}

	for _, m := range s.outdated {
		cost := 0
		if available(g, m) {
			cost = 1
		}
		if cost > budget {
			break
		}
		budget -= cost
		t := s.take()
		switch {
		case t != "" && e.inPlace(g, m, t):
			m.action = "RECREATING"
			if p.GetReplacementMethod() != "RECREATE" {
				m.action = "RESTARTING"
			}
			m.status, m.target, m.version = "STOPPING", t, versionName(g, t)
		default:
			e.startDeleting(m)
			s.live--
			if t != "" {
				s.deficit[t]++
			}
		}
	}

	for _, t := range s.order {
		for s.deficit[t] > 0 && s.total < n+surge &&
			(proactive || s.live < n) {
			e.startCreating(g, t)
			s.deficit[t]--
			s.live++
			s.total++
		}
	}
}

// take picks a template that misses instances, in the order of the
// versions, and counts one instance less missing from it.
func (s *survey) take() string {
	for _, t := range s.order {
		if s.deficit[t] > 0 {
			s.deficit[t]--
			return t
		}
	}
	return ""
}

// inPlace tells whether an instance moves to template t by being
// recreated or restarted under its own name rather than substituted.
// A restart only does when the boot image stays the same.
func (e *Emulator) inPlace(g *mig, m *member, t string) bool {
	p := g.igm.GetUpdatePolicy()
	if p.GetReplacementMethod() == "RECREATE" {
		return true
	}
	if p.GetMinimalAction() == "REPLACE" {
		return false
	}
	from, ok1 := e.template(g.k.project, m.template)
	to, ok2 := e.template(g.k.project, t)
	return ok1 && ok2 && bootImage(from) == bootImage(to)
}

func (e *Emulator) startDeleting(m *member) {
	m.action, m.status = "DELETING", "STOPPING"
}

func (e *Emulator) startCreating(g *mig, template string) {
	zone := e.memberZone(g)
	var name string
	for {
		g.created++
		name = g.igm.GetBaseInstanceName() + "-" + suffix(g.created)
		k := key{g.k.project, zone, name}
		if e.member(k) == nil && e.instances[k] == nil {
			break
		}
	}
	g.members = append(g.members, &member{
		name:     name,
		link:     e.link(g.k.project, zone, "instances", name),
		zone:     zone,
		id:       e.nextID(),
		ip:       e.address(),
		template: template,
		target:   template,
		version:  versionName(g, template),
		action:   "CREATING",
	})
	slices.SortFunc(g.members, func(a, b *member) int {
		return strings.Compare(a.name, b.name)
	})
}

// suffix makes the four characters that follow a group's base name.
func suffix(n int) string {
	s := strconv.FormatInt(int64(n), 36)
	return strings.Repeat("0", max(0, 4-len(s))) + s
}

// memberZone is where a group's next instance goes: its zone, or the
// zone of a regional group that holds the fewest of its instances, the
// first of them on a tie, so that a group spreads evenly.
func (e *Emulator) memberZone(g *mig) string {
	if strings.HasPrefix(g.k.scope, "zones/") {
		return g.k.scope
	}
	best, fewest := "", -1
	for _, z := range g.igm.GetDistributionPolicy().GetZones() {
		link := z.GetZone()
		zone := link[strings.LastIndex(link, "/zones/")+1:]
		n := 0
		for _, m := range g.members {
			if m.zone == zone {
				n++
			}
		}
		if fewest < 0 || n < fewest {
			best, fewest = zone, n
		}
	}
	return best
}

func versionName(g *mig, template string) string {
	for _, v := range g.igm.GetVersions() {
		if v.GetInstanceTemplate() == template {
			return v.GetName()
		}
	}
	return ""
}

// member finds a group's instance by its key.
func (e *Emulator) member(k key) *member {
	_, m := e.memberOf(k)
	return m
}

func (e *Emulator) memberOf(k key) (*mig, *member) {
	link := e.linkOf(k, "instances")
	for _, gk := range sortedKeys(e.migs) {
		g := e.migs[gk]
		for _, m := range g.members {
			if m.link == link {
				return g, m
			}
		}
	}
	return nil, nil
}
