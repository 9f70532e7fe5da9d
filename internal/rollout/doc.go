// Package rollout moves a managed instance group (MIG) from one baked
// image to another and back, behind a health gate.
//
// A rollout pins a new instance template to the image's self-link, never
// its family, so that only a rollout changes what instances run. It
// patches the MIG in two steps: a canary version of one instance, then
// all of them; it watches the MIG's versions, instances, health and
// target pools until the group is stable, and rolls back by itself when
// the gate fails, leaving the bad image DEPRECATED so that its family
// skips it.
//
// GCE keeps no history of a MIG, so each template kiln makes records the
// template it replaced (label kiln-previous on the template's instance
// properties); Rollback and Status read it back.
//
// The package is quiet: progress goes to Options.Progress, and time goes
// by through Options.Clock, which tests point at the Compute emulator.
package rollout
