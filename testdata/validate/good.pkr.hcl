packer {
  required_plugins {
    kiln = {
      source  = "github.com/kiln-images/kiln"
      version = ">= 0.1.0"
    }
  }
}

locals {
  accounts = ["wpt-server", "wpt-sync"]
}

source "null" "test" {
  communicator = "none"
}

build {
  sources = ["source.null.test"]

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

  provisioner "kiln-systemd" {
    known_accounts = local.accounts
    unit {
      name    = "wpt-server.service"
      content = <<-UNIT
        [Unit]
        After=docker.service
        Requires=docker.service
        [Service]
        User=wpt-server
        ExecStart=/usr/bin/docker run --rm -p 80:8000 wpt-server:baked
        Restart=always
        RestartSec=5s
        [Install]
        WantedBy=multi-user.target
      UNIT
    }
    enable = ["wpt-server.service"]
  }

  provisioner "kiln-container" {
    image      = "REGISTRY/wpt/server:latest"
    local_name = "wpt-server:baked"
  }
}
