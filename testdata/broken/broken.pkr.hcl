# An image like images/wpt-server whose server never comes up: its unit
# runs the container with a command that exits 1, and Restart=always
# keeps the unit "activating". internal/verify's TestVerifyBrokenUnit
# bakes it and expects verify to fail, naming the unit.

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
  description = "The container to run; the test serves the offline stand-in."
}

variable "image_name" {
  type    = string
  default = "kiln-broken"
}

variable "output_directory" {
  type    = string
  default = "dist"
}

source "kiln-local" "broken" {
  image_name   = var.image_name
  image_family = "kiln-broken"
  # The packages of images/wpt-server, so that the cached base is shared
  # and the image boots the same way.
  packages         = ["docker.io", "apparmor", "openssh-server", "google-guest-agent", "ca-certificates"]
  disk_size_gb     = 4
  output_directory = var.output_directory
  inputs           = [path.root]
}

build {
  sources = ["source.kiln-local.broken"]

  provisioner "kiln-users" {
    user {
      name = "wpt-server"
      uid  = 1000
    }
  }

  provisioner "kiln-container" {
    image      = var.container_image
    local_name = "wpt-server:baked"
  }

  provisioner "kiln-systemd" {
    known_accounts = ["wpt-server"]
    unit {
      name   = "broken-server.service"
      source = "${path.root}/broken-server.service"
    }
    dropin {
      unit    = "ssh.service"
      name    = "host-keys"
      content = "[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n"
    }
    enable = ["broken-server.service", "docker.service"]
  }
}
