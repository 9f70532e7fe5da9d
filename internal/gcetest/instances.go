package gcetest

import (
	"fmt"
	"strconv"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

// instance is an instance created on its own, outside any group.
type instance struct {
	msg    *computepb.Instance
	disk   string // the boot disk's name
	diskID string
	serial []byte
}

func (e *Emulator) insertInstance(r *request) (string, error) {
	msg := &computepb.Instance{}
	if err := r.decode(msg); err != nil {
		return "", err
	}
	if err := checkName("instance", msg.GetName()); err != nil {
		return "", err
	}
	k := key{r.project, r.scope, msg.GetName()}
	link := e.linkOf(k, "instances")
	if _, ok := e.instances[k]; ok || e.member(k) != nil {
		return "", errExists(link)
	}
	if src := diskImage(msg.GetDisks()); src != "" {
		if _, err := e.usableImage(r.project, src); err != nil {
			return link, failed{err}
		}
	}

	inst := &instance{msg: msg, disk: msg.GetName(),
		diskID: strconv.FormatUint(e.nextID(), 10)}
	msg.Kind = proto.String("compute#instance")
	msg.Id = proto.Uint64(e.nextID())
	msg.CreationTimestamp = proto.String(e.stamp())
	msg.SelfLink = proto.String(link)
	msg.Zone = proto.String(e.scopeLink(r.project, r.scope))
	msg.Status = proto.String("PROVISIONING")
	for i, d := range msg.GetDisks() {
		name := msg.GetName()
		if n := d.GetInitializeParams().GetDiskName(); n != "" {
			name = n
		}
		if i > 0 {
			name = fmt.Sprintf("%s-%d", name, i)
		}
		if i == 0 {
			inst.disk = name
		}
		d.Source = proto.String(e.link(r.project, r.scope, "disks", name))
		d.Boot = proto.Bool(i == 0)
	}
	if len(msg.NetworkInterfaces) == 0 {
		msg.NetworkInterfaces = []*computepb.NetworkInterface{{}}
	}
	msg.NetworkInterfaces[0].NetworkIP = proto.String(e.address())
	e.instances[k] = inst
	inst.log("creating instance %s", msg.GetName())
	return link, nil
}

// advanceInstance moves an instance one state on towards RUNNING.
func (e *Emulator) advanceInstance(inst *instance) {
	switch inst.msg.GetStatus() {
	case "PROVISIONING":
		inst.msg.Status = proto.String("STAGING")
	case "STAGING":
		inst.msg.Status = proto.String("RUNNING")
		inst.msg.LastStartTimestamp = proto.String(e.now.Format(timeFormat))
		inst.log("instance %s is running", inst.msg.GetName())
	}
}

func (inst *instance) log(format string, args ...any) {
	inst.serial = fmt.Appendf(inst.serial, format+"\n", args...)
}

func (e *Emulator) getInstance(r *request) (proto.Message, error) {
	k := key{r.project, r.scope, r.name()}
	if inst, ok := e.instances[k]; ok {
		return proto.CloneOf(inst.msg), nil
	}
	if g, m := e.memberOf(k); m != nil {
		return e.memberInstance(g, m), nil
	}
	return nil, errMissing(e.linkOf(k, "instances"))
}

// stopInstance stops an instance at once, so that its operation ends
// with it stopped, as the API's does.
func (e *Emulator) stopInstance(r *request) (string, error) {
	k := key{r.project, r.scope, r.name()}
	inst, ok := e.instances[k]
	if !ok {
		return "", errMissing(e.linkOf(k, "instances"))
	}
	inst.msg.Status = proto.String("TERMINATED")
	inst.msg.LastStopTimestamp = proto.String(e.now.Format(timeFormat))
	inst.log("instance %s stopped", inst.msg.GetName())
	return inst.msg.GetSelfLink(), nil
}

func (e *Emulator) deleteInstance(r *request) (string, error) {
	k := key{r.project, r.scope, r.name()}
	inst, ok := e.instances[k]
	if !ok {
		return "", errMissing(e.linkOf(k, "instances"))
	}
	delete(e.instances, k)
	return inst.msg.GetSelfLink(), nil
}

func (e *Emulator) serialPortOutput(r *request) (proto.Message, error) {
	k := key{r.project, r.scope, r.name()}
	inst, ok := e.instances[k]
	if !ok {
		return nil, errMissing(e.linkOf(k, "instances"))
	}
	port := 1
	if s := r.query.Get("port"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 4 {
			return nil, errInvalid("Invalid value for field 'port': '%s'", s)
		}
		port = n
	}
	var out []byte
	if port == 1 {
		out = inst.serial
	}
	start := int64(0)
	if s := r.query.Get("start"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, errInvalid("Invalid value for field 'start': '%s'", s)
		}
		start = min(max(n, 0), int64(len(out)))
	}
	return &computepb.SerialPortOutput{
		Kind:     proto.String("compute#serialPortOutput"),
		Contents: proto.String(string(out[start:])),
		Start:    proto.Int64(start),
		Next:     proto.Int64(int64(len(out))),
		SelfLink: proto.String(inst.msg.GetSelfLink() + "/serialPort"),
	}, nil
}

// WriteSerial appends text to what an instance in zone wrote to its first
// serial port, as the software in it would.
func (e *Emulator) WriteSerial(zone, name, text string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	inst, ok := e.instances[key{e.opts.Project, "zones/" + zone, name}]
	if !ok {
		return fmt.Errorf("writing serial output of %s: no such instance", name)
	}
	inst.serial = append(inst.serial, text...)
	return nil
}

// diskOwner finds the instance whose boot disk a link names.
func (e *Emulator) diskOwner(project, link string) (*instance, error) {
	ref, ok := parseRef(project, link)
	if !ok || ref.collection != "disks" {
		return nil, errInvalid("Invalid value for field "+
			"'resource.sourceDisk': '%s'", link)
	}
	for _, k := range sortedKeys(e.instances) {
		inst := e.instances[k]
		if k.project == ref.project && k.scope == ref.scope &&
			inst.disk == ref.name {
			return inst, nil
		}
	}
	return nil, errMissing(link)
}

// address hands out a private address.
func (e *Emulator) address() string {
	n := e.nextID() % 60000
	return fmt.Sprintf("10.128.%d.%d", n/250, n%250+2)
}
