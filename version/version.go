// Package version is the plugin's version, reported to Packer.
package version

import "github.com/hashicorp/packer-plugin-sdk/version"

var (
	// Version is the release, without a leading v.
	Version = "0.1.0"
	// VersionPrerelease marks a build that is not a release, e.g. "dev".
	VersionPrerelease = ""
	// PluginVersion is what Packer reads through `describe`.
	PluginVersion = version.NewPluginVersion(Version, VersionPrerelease, "")
)
