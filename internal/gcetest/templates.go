package gcetest

import (
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

// Instance templates are immutable: there is no method that changes one.

func (e *Emulator) insertTemplate(r *request) (string, error) {
	t := &computepb.InstanceTemplate{}
	if err := r.decode(t); err != nil {
		return "", err
	}
	if err := checkName("instance template", t.GetName()); err != nil {
		return "", err
	}
	if t.Properties == nil {
		return "", errInvalid("Required field 'resource.properties' not " +
			"specified")
	}
	k := key{r.project, r.scope, t.GetName()}
	link := e.linkOf(k, "instanceTemplates")
	if _, ok := e.templates[k]; ok {
		return "", errExists(link)
	}
	t.Kind = proto.String("compute#instanceTemplate")
	t.Id = proto.Uint64(e.nextID())
	t.CreationTimestamp = proto.String(e.stamp())
	t.SelfLink = proto.String(link)
	t.Region = nil
	if r.scope != "global" {
		t.Region = proto.String(e.scopeLink(r.project, r.scope))
	}
	e.templates[k] = t
	return link, nil
}

func (e *Emulator) getTemplate(r *request) (proto.Message, error) {
	k := key{r.project, r.scope, r.name()}
	t, ok := e.templates[k]
	if !ok {
		return nil, errMissing(e.linkOf(k, "instanceTemplates"))
	}
	return proto.CloneOf(t), nil
}

func (e *Emulator) listTemplates(r *request) (proto.Message, error) {
	var ts []*computepb.InstanceTemplate
	for _, k := range sortedKeys(e.templates) {
		if k.project == r.project && k.scope == r.scope {
			ts = append(ts, e.templates[k])
		}
	}
	ts, err := filter(ts, r.query.Get("filter"),
		map[string]func(*computepb.InstanceTemplate) string{
			"name": (*computepb.InstanceTemplate).GetName,
		})
	if err != nil {
		return nil, err
	}
	items, next, err := page(ts, r.query)
	if err != nil {
		return nil, err
	}
	list := &computepb.InstanceTemplateList{
		Kind:     proto.String("compute#instanceTemplateList"),
		Id:       proto.String("projects/" + r.project + "/" + r.scope),
		SelfLink: proto.String(e.scopeLink(r.project, r.scope) + "/instanceTemplates"),
	}
	for _, t := range items {
		list.Items = append(list.Items, proto.CloneOf(t))
	}
	if next != "" {
		list.NextPageToken = proto.String(next)
	}
	return list, nil
}

// deleteTemplate refuses while a group names the template or still runs
// instances made from it.
func (e *Emulator) deleteTemplate(r *request) (string, error) {
	k := key{r.project, r.scope, r.name()}
	link := e.linkOf(k, "instanceTemplates")
	if _, ok := e.templates[k]; !ok {
		return "", errMissing(link)
	}
	for _, mk := range sortedKeys(e.migs) {
		if g := e.migs[mk]; g.uses(link) {
			return "", errInUse("The instance_template resource '%s' is "+
				"already being used by '%s'", link, g.link())
		}
	}
	delete(e.templates, k)
	return link, nil
}

// template finds the template a link names.
func (e *Emulator) template(project, link string) (*computepb.InstanceTemplate, bool) {
	ref, ok := parseRef(project, link)
	if !ok || ref.collection != "instanceTemplates" {
		return nil, false
	}
	t, ok := e.templates[ref.key]
	return t, ok
}

// bootImage is the image a template's boot disk is made from, if any.
func bootImage(t *computepb.InstanceTemplate) string {
	return diskImage(t.GetProperties().GetDisks())
}

func diskImage(disks []*computepb.AttachedDisk) string {
	for _, d := range disks {
		if d.GetBoot() || len(disks) == 1 {
			return d.GetInitializeParams().GetSourceImage()
		}
	}
	return ""
}

// canonicalTemplate turns a template reference into the template's link,
// or says why the group cannot use it.
func (e *Emulator) canonicalTemplate(project, groupScope,
	link string,
) (string, error) {
	t, ok := e.template(project, link)
	if !ok {
		return "", errMissing(link)
	}
	if region := t.GetRegion(); region != "" {
		want := groupScope
		if z, ok := strings.CutPrefix(groupScope, "zones/"); ok {
			want = "regions/" + regionOf(z)
		}
		if !strings.HasSuffix(region, "/"+want) {
			return "", errInvalid("Instance template '%s' is in another "+
				"region than the group", t.GetSelfLink())
		}
	}
	return t.GetSelfLink(), nil
}
