package gce

import (
	"context"
	"fmt"
	"net/http"
	"sort"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/iterator"
)

// InsertImage creates img and returns it as the API then describes it.
// The image's source is a disk (SourceDisk) or a gzipped tar holding
// disk.raw in Cloud Storage (RawDisk.Source).
func (c *Client) InsertImage(ctx context.Context,
	img *computepb.Image,
) (*computepb.Image, error) {
	err := mutate(ctx, c, c.images.Insert, &computepb.InsertImageRequest{
		Project:       c.project,
		ImageResource: img,
		RequestId:     requestID(),
	})
	if err != nil {
		return nil, fmt.Errorf("inserting image %q: %w", img.GetName(), err)
	}
	return c.Image(ctx, img.GetName())
}

// Image reads the image called name.
func (c *Client) Image(ctx context.Context, name string) (*computepb.Image, error) {
	img, err := call(ctx, c, c.images.Get, &computepb.GetImageRequest{
		Project: c.project, Image: name,
	})
	if err != nil {
		return nil, fmt.Errorf("getting image %q: %w", name, err)
	}
	return img, nil
}

// ImageFromFamily reads the newest image of family that is not
// deprecated.
func (c *Client) ImageFromFamily(ctx context.Context,
	family string,
) (*computepb.Image, error) {
	img, err := call(ctx, c, c.images.GetFromFamily,
		&computepb.GetFromFamilyImageRequest{
			Project: c.project, Family: family,
		})
	if err != nil {
		return nil, fmt.Errorf("getting image from family %q: %w", family, err)
	}
	return img, nil
}

// ListImages lists every image of family, deprecated ones included,
// newest first.
func (c *Client) ListImages(ctx context.Context,
	family string,
) ([]*computepb.Image, error) {
	filter := fmt.Sprintf("family = %q", family)
	imgs, err := collect[*computepb.Image](ctx, c,
		func(ctx context.Context) iterator.Pageable {
			return c.images.List(ctx, &computepb.ListImagesRequest{
				Project: c.project, Filter: &filter,
			}, once)
		})
	if err != nil {
		return nil, fmt.Errorf("listing images of family %q: %w", family, err)
	}
	sort.SliceStable(imgs, func(i, j int) bool {
		return imgs[i].GetCreationTimestamp() > imgs[j].GetCreationTimestamp()
	})
	return imgs, nil
}

// DeprecateImage sets the deprecation status of the image called name:
// DEPRECATED keeps it usable but out of its family, OBSOLETE and DELETED
// refuse new uses of it.
func (c *Client) DeprecateImage(ctx context.Context, name string,
	status *computepb.DeprecationStatus,
) error {
	err := mutate(ctx, c, c.images.Deprecate, &computepb.DeprecateImageRequest{
		Project:                   c.project,
		Image:                     name,
		DeprecationStatusResource: status,
		RequestId:                 requestID(),
	})
	if err != nil {
		return fmt.Errorf("deprecating image %q: %w", name, err)
	}
	return nil
}

// UndeprecateImage clears the deprecation status of the image called
// name, which puts it back in its family.
func (c *Client) UndeprecateImage(ctx context.Context, name string) error {
	err := mutate(ctx, c, c.images.Deprecate, &computepb.DeprecateImageRequest{
		Project:                   c.project,
		Image:                     name,
		DeprecationStatusResource: &computepb.DeprecationStatus{},
		RequestId:                 requestID(),
	})
	if err != nil {
		return fmt.Errorf("undeprecating image %q: %w", name, err)
	}
	return nil
}

// SetImageLabels replaces the labels of the image called name. It fails
// with 412 when the labels change between its read and its write.
func (c *Client) SetImageLabels(ctx context.Context, name string,
	labels map[string]string,
) error {
	if err := c.setImageLabels(ctx, name, labels); err != nil {
		return fmt.Errorf("setting labels of image %q: %w", name, err)
	}
	return nil
}

func (c *Client) setImageLabels(ctx context.Context, name string,
	labels map[string]string,
) error {
	img, err := call(ctx, c, c.images.Get, &computepb.GetImageRequest{
		Project: c.project, Image: name,
	})
	if err != nil {
		return err
	}
	err = mutate(ctx, c, c.images.SetLabels, &computepb.SetLabelsImageRequest{
		Project:  c.project,
		Resource: name,
		GlobalSetLabelsRequestResource: &computepb.GlobalSetLabelsRequest{
			LabelFingerprint: img.LabelFingerprint,
			Labels:           labels,
		},
	})
	if !IsStatus(err, http.StatusPreconditionFailed) {
		return err
	}

	// images.setLabels takes no request id: when an answer was lost and
	// the retry found the fingerprint moved on, the lost try may have been
	// the one that moved it.
	now, gerr := call(ctx, c, c.images.Get, &computepb.GetImageRequest{
		Project: c.project, Image: name,
	})
	if gerr == nil && sameLabels(now.GetLabels(), labels) {
		return nil
	}
	return err
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// DeleteImage deletes the image called name.
func (c *Client) DeleteImage(ctx context.Context, name string) error {
	err := mutate(ctx, c, c.images.Delete, &computepb.DeleteImageRequest{
		Project: c.project, Image: name, RequestId: requestID(),
	})
	if err != nil {
		return fmt.Errorf("deleting image %q: %w", name, err)
	}
	return nil
}
