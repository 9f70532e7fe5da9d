// Package imagepull brings a container image from a registry to the
// build host and hands it on as the archive docker load reads.
//
// A reference is resolved to a digest once (Resolve); the image for a
// platform is fetched into a content-addressed layer cache on the build
// host (Fetch), so a rebuild downloads only the layers it lacks; and the
// image is streamed from the cache as a docker-archive
// (WriteDockerArchive), for a provisioner to pipe into docker load.
//
// The package prints nothing. A caller that shows progress to a person
// passes Options.Progress.
package imagepull
