// Command packer-plugin-kiln is the Packer plugin of kiln: builders,
// provisioners and a post-processor that bake immutable GCE images.
package main

import (
	"fmt"
	"os"

	"github.com/hashicorp/packer-plugin-sdk/plugin"

	"github.com/kiln-images/kiln/builder/local"
	"github.com/kiln-images/kiln/postprocessor/gceimport"
	"github.com/kiln-images/kiln/provisioners/container"
	"github.com/kiln-images/kiln/provisioners/systemd"
	"github.com/kiln-images/kiln/provisioners/users"
	"github.com/kiln-images/kiln/version"
)

func main() {
	pps := plugin.NewSet()
	pps.RegisterBuilder("local", new(local.Builder))
	pps.RegisterProvisioner("users", new(users.Provisioner))
	pps.RegisterProvisioner("container", new(container.Provisioner))
	pps.RegisterProvisioner("systemd", new(systemd.Provisioner))
	pps.RegisterPostProcessor("gce-import", new(gceimport.PostProcessor))
	pps.SetVersion(version.PluginVersion)
	if err := pps.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
