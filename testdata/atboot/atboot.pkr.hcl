# The wpt-server image as deployments configure it today, for comparison
# only (go run mage.go bench:boot): the same base, but the users, the
# container pull and the server unit all happen at first boot.

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
  description = "The server's image, as the guest reaches it at boot."
}

variable "registry" {
  type        = string
  description = "host:port of that registry, plain HTTP."
}

variable "image_name" {
  type    = string
  default = "wpt-atboot"
}

variable "output_directory" {
  type    = string
  default = "dist"
}

source "kiln-local" "atboot" {
  image_name       = var.image_name
  packages         = ["docker.io", "apparmor", "openssh-server", "google-guest-agent", "ca-certificates"]
  disk_size_gb     = 4
  output_directory = var.output_directory
  inputs           = [path.root]
}

build {
  sources = ["source.kiln-local.atboot"]

  provisioner "file" {
    source      = "${path.root}/firstboot.sh"
    destination = "/usr/local/sbin/firstboot"
  }

  provisioner "file" {
    source      = "${path.root}/../../images/wpt-server/wpt-server.service"
    destination = "/usr/local/share/wpt-server.service"
  }

  provisioner "shell" {
    inline = [
      "chmod 0755 /usr/local/sbin/firstboot",
      "echo IMAGE=${var.container_image} > /etc/default/firstboot",
      "mkdir -p /etc/docker",
      "echo '{\"insecure-registries\": [\"${var.registry}\"]}' > /etc/docker/daemon.json",
    ]
  }

  provisioner "kiln-systemd" {
    unit {
      name    = "firstboot.service"
      content = <<-UNIT
        [Unit]
        Description=Configure the server at first boot
        Wants=network-online.target
        After=docker.service network-online.target
        Requires=docker.service
        ConditionPathExists=!/var/lib/firstboot.done

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/usr/local/sbin/firstboot
        StandardOutput=journal+console
        StandardError=journal+console

        [Install]
        WantedBy=multi-user.target
      UNIT
    }
    enable = ["firstboot.service"]
  }
}
