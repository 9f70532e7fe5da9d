package gcetest

import (
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

func (e *Emulator) insertImage(r *request) (string, error) {
	img := &computepb.Image{}
	if err := r.decode(img); err != nil {
		return "", err
	}
	if err := checkName("image", img.GetName()); err != nil {
		return "", err
	}
	if f := img.GetFamily(); f != "" {
		if err := checkName("family", f); err != nil {
			return "", err
		}
	}
	if err := checkLabels(img.GetLabels()); err != nil {
		return "", err
	}
	k := key{r.project, "global", img.GetName()}
	link := e.linkOf(k, "images")
	if _, ok := e.images[k]; ok {
		return "", errExists(link)
	}
	if err := e.checkImageSource(r, img); err != nil {
		return "", err
	}

	img.Kind = proto.String("compute#image")
	img.Id = proto.Uint64(e.nextID())
	img.CreationTimestamp = proto.String(e.stamp())
	img.SelfLink = proto.String(link)
	// GCE reads the source while the operation runs; until it is done,
	// the image is PENDING and cannot be deleted.
	img.Status = proto.String("PENDING")
	img.LabelFingerprint = proto.String(labelFingerprint(img.GetLabels()))
	if img.DiskSizeGb == nil {
		img.DiskSizeGb = proto.Int64(10)
	}
	if img.RawDisk != nil {
		img.SourceType = proto.String("RAW")
	}
	// Treated as output only: kiln sets it with deprecate, after insert.
	img.Deprecated = nil
	e.images[k] = img
	return link, nil
}

// imageReady marks the image a finished insert made READY.
func (e *Emulator) imageReady(op *computepb.Operation) {
	if op.GetOperationType() != "insert" || op.GetError() != nil {
		return
	}
	for _, img := range e.images {
		if img.GetSelfLink() == op.GetTargetLink() {
			img.Status = proto.String("READY")
		}
	}
}

// checkImageSource wants exactly one source: a disk, a raw disk in Cloud
// Storage or another image. A disk must belong to a stopped instance
// unless forceCreate is set.
func (e *Emulator) checkImageSource(r *request, img *computepb.Image) error {
	n := 0
	for _, s := range []string{img.GetSourceDisk(),
		img.GetRawDisk().GetSource(), img.GetSourceImage()} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return errInvalid("Exactly one of sourceDisk, rawDisk.source and " +
			"sourceImage must be set")
	}
	switch {
	case img.GetRawDisk().GetSource() != "":
		src := img.GetRawDisk().GetSource()
		if !strings.HasPrefix(src, "gs://") &&
			!strings.HasPrefix(src, "https://storage.googleapis.com/") {
			return errInvalid("Invalid value for field "+
				"'resource.rawDisk.source': '%s'", src)
		}
	case img.GetSourceDisk() != "":
		inst, err := e.diskOwner(r.project, img.GetSourceDisk())
		if err != nil {
			return err
		}
		if inst.msg.GetStatus() != "TERMINATED" &&
			r.query.Get("forceCreate") != "true" {
			return errInUse("The disk resource '%s' is already being used "+
				"by '%s'", img.GetSourceDisk(), inst.msg.GetSelfLink())
		}
		img.SourceDiskId = proto.String(inst.diskID)
	default:
		if _, err := e.usableImage(r.project, img.GetSourceImage()); err != nil {
			return err
		}
	}
	return nil
}

func (e *Emulator) getImage(r *request) (proto.Message, error) {
	img, ok := e.images[key{r.project, "global", r.name()}]
	if !ok {
		return nil, errMissing(e.link(r.project, "global", "images", r.name()))
	}
	return proto.CloneOf(img), nil
}

func (e *Emulator) getImageFromFamily(r *request) (proto.Message, error) {
	img := e.newestInFamily(r.project, r.name())
	if img == nil {
		return nil, errMissing(e.link(r.project, "global", "images/family",
			r.name()))
	}
	return proto.CloneOf(img), nil
}

// newestInFamily is the image a family stands for: its newest image that
// is not deprecated in any way.
func (e *Emulator) newestInFamily(project, family string) *computepb.Image {
	var newest *computepb.Image
	for k, img := range e.images {
		if k.project != project || img.GetFamily() != family ||
			deprecation(img) != "" {
			continue
		}
		if newest == nil || img.GetCreationTimestamp() >
			newest.GetCreationTimestamp() {
			newest = img
		}
	}
	return newest
}

// deprecation is an image's deprecation state, empty when it is active.
func deprecation(img *computepb.Image) string {
	s := img.GetDeprecated().GetState()
	if s == "ACTIVE" {
		return ""
	}
	return s
}

// usableImage finds the image a new disk is made from, refusing one that
// is missing, OBSOLETE or DELETED. A family stands for its newest image.
func (e *Emulator) usableImage(project, link string) (*computepb.Image, *apiError) {
	ref, ok := parseRef(project, link)
	var img *computepb.Image
	switch {
	case !ok:
		return nil, errInvalid("Invalid value for field 'sourceImage': '%s'",
			link)
	case ref.collection == "images/family":
		img = e.newestInFamily(ref.project, ref.name)
	case ref.collection == "images":
		img = e.images[ref.key]
	}
	if img == nil {
		return nil, errMissing(link)
	}
	if s := deprecation(img); s == "OBSOLETE" || s == "DELETED" {
		return nil, errInvalid("The resource '%s' is %s and cannot be used",
			img.GetSelfLink(), strings.ToLower(s))
	}
	return img, nil
}

func (e *Emulator) listImages(r *request) (proto.Message, error) {
	var imgs []*computepb.Image
	for _, k := range sortedKeys(e.images) {
		if k.project == r.project {
			imgs = append(imgs, e.images[k])
		}
	}
	imgs, err := filter(imgs, r.query.Get("filter"),
		map[string]func(*computepb.Image) string{
			"name":   (*computepb.Image).GetName,
			"family": (*computepb.Image).GetFamily,
			"status": (*computepb.Image).GetStatus,
		})
	if err != nil {
		return nil, err
	}
	items, next, err := page(imgs, r.query)
	if err != nil {
		return nil, err
	}
	list := &computepb.ImageList{
		Kind:     proto.String("compute#imageList"),
		Id:       proto.String("projects/" + r.project + "/global/images"),
		SelfLink: proto.String(e.scopeLink(r.project, "global") + "/images"),
	}
	for _, img := range items {
		list.Items = append(list.Items, proto.CloneOf(img))
	}
	if next != "" {
		list.NextPageToken = proto.String(next)
	}
	return list, nil
}

// deprecateImage sets an image's deprecation state; an empty state, or
// ACTIVE, clears it.
func (e *Emulator) deprecateImage(r *request) (string, error) {
	k := key{r.project, "global", r.name()}
	img, ok := e.images[k]
	if !ok {
		return "", errMissing(e.linkOf(k, "images"))
	}
	st := &computepb.DeprecationStatus{}
	if err := r.decode(st); err != nil {
		return "", err
	}
	switch st.GetState() {
	case "", "ACTIVE":
		img.Deprecated = nil
	case "DEPRECATED", "OBSOLETE", "DELETED":
		img.Deprecated = st
	default:
		return "", errInvalid("Invalid value for field "+
			"'deprecationStatus.state': '%s'", st.GetState())
	}
	return img.GetSelfLink(), nil
}

func (e *Emulator) setImageLabels(r *request) (string, error) {
	k := key{r.project, "global", r.name()}
	img, ok := e.images[k]
	if !ok {
		return "", errMissing(e.linkOf(k, "images"))
	}
	req := &computepb.GlobalSetLabelsRequest{}
	if err := r.decode(req); err != nil {
		return "", err
	}
	if req.LabelFingerprint == nil {
		return "", errInvalid("Required field 'labelFingerprint' not specified")
	}
	if req.GetLabelFingerprint() != img.GetLabelFingerprint() {
		return "", errConditionNotMet("Labels fingerprint either invalid " +
			"or resource labels have changed")
	}
	if err := checkLabels(req.GetLabels()); err != nil {
		return "", err
	}
	img.Labels = req.GetLabels()
	img.LabelFingerprint = proto.String(labelFingerprint(img.Labels))
	return img.GetSelfLink(), nil
}

func (e *Emulator) deleteImage(r *request) (string, error) {
	k := key{r.project, "global", r.name()}
	img, ok := e.images[k]
	if !ok {
		return "", errMissing(e.linkOf(k, "images"))
	}
	if img.GetStatus() == "PENDING" {
		return "", errNotReady(img.GetSelfLink())
	}
	delete(e.images, k)
	return img.GetSelfLink(), nil
}

// labelFingerprint is a hash of the labels, so it moves when they do.
func labelFingerprint(labels map[string]string) string {
	var kv []string
	for k, v := range labels {
		kv = append(kv, k+"="+v)
	}
	slices.Sort(kv)
	sum := sha256.Sum256([]byte(strings.Join(kv, "\n")))
	return base64.StdEncoding.EncodeToString(sum[:8])
}
