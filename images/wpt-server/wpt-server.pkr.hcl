# The web-platform-tests server (wpt.live), baked: users, the server's
# container in Docker's store and its unit enabled, so that an instance
# boots healthy with nothing fetched at boot.

packer {
  required_plugins {
    kiln = {
      source  = "github.com/kiln-images/kiln"
      version = ">= 0.1.0"
    }
  }
}

variable "container_image" {
  type        = string
  description = "The server's container image, by tag or digest. `go run mage.go build` serves an offline stand-in and passes its digest."
}

variable "image_name" {
  type        = string
  default     = "wpt-server"
  description = "GCE image name; the nightly build adds a date."
}

variable "output_directory" {
  type    = string
  default = "dist"
}

locals {
  # Accounts as today's deployment has them: wpt-server reads the
  # certificates through the wpt-sync group.
  accounts = ["wpt-server", "wpt-sync"]
}

source "kiln-local" "wpt-server" {
  image_name       = var.image_name
  image_family     = "wpt-server"
  packages         = ["docker.io", "apparmor", "openssh-server", "google-guest-agent", "ca-certificates"]
  disk_size_gb     = 4
  output_directory = var.output_directory
  inputs           = [path.root]
}

build {
  sources = ["source.kiln-local.wpt-server"]

  provisioner "kiln-users" {
    user {
      name   = "wpt-server"
      uid    = 1000
      groups = ["wpt-sync"]
    }
    user {
      name = "wpt-sync"
      uid  = 1001
    }
  }

  provisioner "kiln-container" {
    image      = var.container_image
    local_name = "wpt-server:baked"
  }

  provisioner "kiln-systemd" {
    known_accounts = local.accounts
    unit {
      name   = "wpt-server.service"
      source = "${path.root}/wpt-server.service"
    }
    unit {
      name   = "container-metadata-block.service"
      source = "${path.root}/container-metadata-block.service"
    }
    # Host keys are removed from the image; each instance makes its own
    # before sshd's config test, which fails without them.
    dropin {
      unit    = "ssh.service"
      name    = "host-keys"
      content = "[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n"
    }
    enable = [
      "wpt-server.service", "container-metadata-block.service",
      "docker.service",
    ]
  }
}
