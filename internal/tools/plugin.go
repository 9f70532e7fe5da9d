package tools

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// PluginSource is the address templates use in required_plugins.
const PluginSource = "github.com/kiln-images/kiln"

// InstallPlugin builds the plugin from the module at src and installs it
// for packer into pluginDir, the folder PACKER_PLUGIN_PATH names.
func InstallPlugin(ctx context.Context, packer, src, pluginDir string) error {
	tmp, err := os.MkdirTemp("", "kiln-plugin-")
	if err != nil {
		return fmt.Errorf("building plugin: %w", err)
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "packer-plugin-kiln")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building plugin: %w: %s", err, out)
	}
	install := exec.CommandContext(ctx, packer, "plugins", "install",
		"--path", bin, PluginSource)
	install.Env = append(os.Environ(), "PACKER_PLUGIN_PATH="+pluginDir,
		"CHECKPOINT_DISABLE=1")
	if out, err := install.CombinedOutput(); err != nil {
		return fmt.Errorf("installing plugin: %w: %s", err,
			strings.TrimSpace(string(out)))
	}
	return nil
}
