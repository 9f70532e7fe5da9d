//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config

package local

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/hashicorp/packer-plugin-sdk/common"

	"github.com/kiln-images/kiln/internal/cachedir"
	"github.com/kiln-images/kiln/internal/rootfs"
)

// Config is the kiln-local source block.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// Name of the image, as GCE will know it: lowercase letters, digits
	// and dashes, at most 63 characters, starting with a letter. The
	// artifact is <output_directory>/<image_name>.tar.gz. Required.
	ImageName string `mapstructure:"image_name" required:"true"`
	// Image family the image will join when imported.
	ImageFamily string `mapstructure:"image_family"`
	// Debian suite to bootstrap. Defaults to `bookworm`.
	Suite string `mapstructure:"suite"`
	// Debian mirror. Defaults to the first mirror the build host's apt
	// uses.
	Mirror string `mapstructure:"mirror"`
	// Mirror of Debian's security archive. Defaults to
	// `http://deb.debian.org/debian-security`.
	SecurityMirror string `mapstructure:"security_mirror"`
	// Bake without Debian's stable and security updates: only what the
	// suite itself holds, and no network once the base is cached. By
	// default the base's apt sources also name `<suite>-updates` and
	// `<suite>-security`, the base is upgraded from them, and it is
	// cached under a key holding the digest of those suites' Release
	// files: when Debian publishes an update, the next bake starts from
	// a new base and gets a new inputs hash, which a nightly release
	// then rolls out.
	SkipUpdates bool `mapstructure:"skip_updates"`
	// debootstrap variant. Defaults to `minbase`.
	Variant string `mapstructure:"variant"`
	// Debian packages to install on top of what every kiln image gets
	// (kernel, systemd, boot loader, networking).
	Packages []string `mapstructure:"packages"`
	// Size of the disk in GiB; GCE rounds an imported disk up to whole
	// GB, and instances may use bigger boot disks. Defaults to 4.
	DiskSizeGB int `mapstructure:"disk_size_gb"`
	// Folder for the tarball and its manifest. Defaults to `dist`.
	OutputDir string `mapstructure:"output_directory"`
	// Files and folders whose content defines the image, hashed into the
	// manifest's inputs_hash with the base system and container digests;
	// usually `[path.root]`, the template's folder.
	Inputs []string `mapstructure:"inputs"`
	// Paths inside the image (shell patterns) allowed to hold private
	// keys. Any other private key fails the build.
	AllowPrivateKeys []string `mapstructure:"allow_private_keys"`
	// Guest OS features to set when GCE imports the image. Defaults to
	// UEFI_COMPATIBLE and VIRTIO_SCSI_MULTIQUEUE.
	GuestOSFeatures []string `mapstructure:"guest_os_features"`
	// Where base root file systems are cached. Defaults to kiln/rootfs in
	// the user's cache folder (KILN_CACHE_DIR overrides that folder).
	CacheDir string `mapstructure:"cache_dir"`

	// release is the digest of the suites the base is upgraded from,
	// read by the preflight step.
	release string
}

// basePackages are what every kiln image needs to boot on GCE and under
// QEMU: a kernel, systemd as init, a UEFI boot loader and DHCP networking.
var basePackages = []string{
	"linux-image-cloud-amd64", "initramfs-tools", "systemd", "systemd-sysv",
	"systemd-boot-efi", "systemd-resolved", "udev", "dbus",
}

var imageNameRE = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

var knownFeatures = []string{"UEFI_COMPATIBLE", "VIRTIO_SCSI_MULTIQUEUE",
	"GVNIC", "SEV_CAPABLE", "SEV_SNP_CAPABLE", "IDPF", "TDX_CAPABLE",
	"MULTI_IP_SUBNET", "SECURE_BOOT"}

// prepare sets defaults, then checks every field, naming its HCL key.
func (c *Config) prepare() error {
	if c.Suite == "" {
		c.Suite = "bookworm"
	}
	if c.Mirror == "" {
		c.Mirror = rootfs.DefaultMirror()
	}
	if c.Variant == "" {
		c.Variant = "minbase"
	}
	if c.SecurityMirror == "" && !c.SkipUpdates {
		c.SecurityMirror = rootfs.DefaultSecurity
	}
	if c.DiskSizeGB == 0 {
		c.DiskSizeGB = 4
	}
	if c.OutputDir == "" {
		c.OutputDir = "dist"
	}
	if c.CacheDir == "" {
		c.CacheDir = filepath.Join(cachedir.Root(), "rootfs")
	}
	if len(c.GuestOSFeatures) == 0 {
		c.GuestOSFeatures = []string{"UEFI_COMPATIBLE", "VIRTIO_SCSI_MULTIQUEUE"}
	}

	var errs []error
	if !imageNameRE.MatchString(c.ImageName) {
		errs = append(errs, fmt.Errorf("image_name: %q is not a GCE image "+
			"name (lowercase letters, digits and -, at most 63, starting "+
			"with a letter)", c.ImageName))
	}
	if c.ImageFamily != "" && !imageNameRE.MatchString(c.ImageFamily) {
		errs = append(errs, fmt.Errorf("image_family: %q is not a GCE "+
			"family name", c.ImageFamily))
	}
	if c.DiskSizeGB < 1 || c.DiskSizeGB > 2048 {
		errs = append(errs, fmt.Errorf("disk_size_gb: %d, want 1 to 2048",
			c.DiskSizeGB))
	}
	if !slices.Contains([]string{"minbase", "buildd", "fakechroot", "-"},
		c.Variant) {
		errs = append(errs, fmt.Errorf("variant: %q is not a debootstrap "+
			"variant (minbase, buildd, fakechroot)", c.Variant))
	}
	for _, f := range c.GuestOSFeatures {
		if !slices.Contains(knownFeatures, f) {
			errs = append(errs, fmt.Errorf("guest_os_features: %q is not a "+
				"GCE guest OS feature", f))
		}
	}
	return errors.Join(errs...)
}

// spec is the base root file system this config asks for.
func (c *Config) spec() rootfs.Spec {
	pkgs := append(slices.Clone(basePackages), c.Packages...)
	spec := rootfs.Spec{Suite: c.Suite, Mirror: c.Mirror, Variant: c.Variant,
		Packages: pkgs}
	if !c.SkipUpdates {
		spec.Security, spec.Release = c.SecurityMirror, c.release
	}
	return spec
}
