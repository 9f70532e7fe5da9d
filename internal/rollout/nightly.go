package rollout

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kiln-images/kiln/internal/settings"
)

// Artifact is a baked image on its way into GCE.
type Artifact struct {
	Name       string // the GCE image name it gets
	Tarball    string // the disk.raw tarball
	Manifest   string // its manifest
	InputsHash string // the manifest's inputs_hash
}

// Stages are the steps of a nightly release that happen outside the MIG.
// The mage target gives the real ones; tests give fakes.
type Stages struct {
	// Inputs works out the inputs hash of the image a build would make,
	// without building it. Nil, or a failure, builds first and compares
	// afterwards.
	Inputs func(ctx context.Context) (string, error)
	// Build bakes the image.
	Build func(ctx context.Context) (*Artifact, error)
	// Verify proves the baked image boots healthy.
	Verify func(ctx context.Context, a *Artifact) error
	// Import creates the GCE image, DEPRECATED, labelled kiln-inputs,
	// and returns its name.
	Import func(ctx context.Context, a *Artifact) (string, error)
	// Summary is a file to append a Markdown summary to, such as
	// $GITHUB_STEP_SUMMARY; empty writes none.
	Summary string
}

// NightlyReport says what a nightly release did.
type NightlyReport struct {
	MIG        string
	Live       string // the image the MIG ran at the start
	InputsHash string
	Planned    string // the inputs hash worked out before building
	Image      string // the image made, if any
	Skipped    bool   // the inputs were those of the live image
	Stages     []StageResult
}

// StageResult is one stage of a nightly release.
type StageResult struct {
	Name string
	Took time.Duration
	Note string
	Err  error
}

// Nightly releases the inputs of today: unless their hash is the live
// image's, it builds, verifies and imports an image, makes it active,
// rolls it out and prunes the family, logging each stage, and appends a
// summary to st.Summary. A failed rollout rolls back by itself.
func Nightly(ctx context.Context, s settings.Settings, st Stages,
	o Options,
) (*NightlyReport, error) {
	if o.DryRun {
		return nil, errors.New("nightly: no dry run; use Rollout's")
	}
	r, err := open(ctx, s, o)
	if err != nil {
		return nil, err
	}
	defer r.close()
	n := &nightly{session: r, st: st,
		rep: &NightlyReport{MIG: s.MIG}}
	err = n.run(ctx)
	if serr := n.summarize(err); serr != nil {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return n.rep, fmt.Errorf("nightly release to MIG %q: %w", s.MIG, err)
	}
	return n.rep, nil
}

// nightly is one nightly release under way.
type nightly struct {
	*session
	st       Stages
	rep      *NightlyReport
	liveHash string
}

func (n *nightly) run(ctx context.Context) error {
	err := n.stage("live", func() (string, error) {
		img, hash, err := n.liveInputs(ctx)
		n.rep.Live, n.liveHash = img, hash
		return fmt.Sprintf("%s (inputs %s)", img, cmp.Or(hash, "unknown")), err
	})
	if err != nil {
		return err
	}
	if n.st.Inputs != nil {
		err := n.stage("inputs", func() (string, error) {
			h, err := n.st.Inputs(ctx)
			switch {
			case ctx.Err() != nil:
				return "", ctx.Err()
			case err != nil:
				// The build works them out too; it decides.
				return "not known before the build: " + err.Error(), nil
			}
			n.rep.Planned, n.rep.InputsHash = h, h
			return short(h), nil
		})
		if err != nil || n.unchanged() {
			return err
		}
	}
	var a *Artifact
	err = n.stage("build", func() (string, error) {
		var err error
		if a, err = n.st.Build(ctx); err != nil {
			return "", err
		}
		n.rep.InputsHash = a.InputsHash
		if p := n.rep.Planned; p != "" && p != a.InputsHash {
			n.say("The inputs worked out before the build, %s, are not "+
				"the build's, %s: the build's count", short(p),
				short(a.InputsHash))
		}
		return fmt.Sprintf("%s (inputs %s)", a.Tarball, short(a.InputsHash)),
			nil
	})
	if err != nil || n.unchanged() {
		return err
	}
	return n.release(ctx, a)
}

// release takes a built image the rest of the way.
func (n *nightly) release(ctx context.Context, a *Artifact) error {
	if err := n.stage("verify", func() (string, error) {
		return "booted healthy", n.st.Verify(ctx, a)
	}); err != nil {
		return err
	}
	if err := n.stage("import", func() (string, error) {
		name, err := n.st.Import(ctx, a)
		n.rep.Image = name
		return name, err
	}); err != nil {
		return err
	}
	if err := n.stage("activate", func() (string, error) {
		return n.rep.Image + " is ACTIVE",
			n.gce.UndeprecateImage(ctx, n.rep.Image)
	}); err != nil {
		return err
	}
	if err := n.stage("rollout", func() (string, error) {
		return n.rep.Image + " is live", n.rollout(ctx, n.rep.Image)
	}); err != nil {
		return err
	}
	return n.stage("prune", func() (string, error) {
		p, err := n.prune(ctx, n.s.Keep, true)
		if p == nil {
			return "", err
		}
		return fmt.Sprintf("deleted %d images, %d templates", len(p.Images),
			len(p.Templates)), err
	})
}

// unchanged tells whether the inputs are the live image's, and then
// says so and marks the release skipped.
func (n *nightly) unchanged() bool {
	h := n.rep.InputsHash
	if n.liveHash == "" || len(h) < 32 || h[:32] != n.liveHash {
		return false
	}
	n.rep.Skipped = true
	n.say("Inputs %s are those of the live image %s: nothing to release",
		short(h), n.rep.Live)
	return true
}

// stage runs one stage and records how it went.
func (n *nightly) stage(name string, f func() (string, error)) error {
	n.say("== %s", name)
	start := n.clock.Now()
	note, err := f()
	res := StageResult{Name: name, Took: n.clock.Now().Sub(start),
		Note: note, Err: err}
	n.rep.Stages = append(n.rep.Stages, res)
	if err != nil {
		n.say("== %s failed after %s: %v", name, res.Took.Round(time.Second),
			err)
		return fmt.Errorf("%s: %w", name, err)
	}
	n.say("== %s: %s (%s)", name, note, res.Took.Round(time.Second))
	return nil
}

// liveInputs reads the image the MIG's main version boots and its
// kiln-inputs label.
func (r *session) liveInputs(ctx context.Context) (string, string, error) {
	igm, err := r.gce.MIG(ctx, r.loc, r.s.MIG)
	if err != nil {
		return "", "", err
	}
	t, err := r.template(ctx, mainVersion(igm).GetInstanceTemplate())
	if err != nil {
		return "", "", err
	}
	img, err := r.imageOf(ctx, t)
	if err != nil {
		return "", "", err
	}
	return img.GetName(), img.GetLabels()[LabelInputs], nil
}

// short is the part of a hash that labels carry, for messages.
func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}
