variable "image" {
  type = string
}

variable "size" {
  type    = number
  default = 4
}

variable "packages" {
  type    = list(string)
  default = ["docker.io"]
}

locals {
  # A local that uses another, declared after it.
  name  = "${local.stem}-${var.size}"
  stem  = "web"
}

source "kiln-local" "web" {
  image_name   = local.name
  disk_size_gb = var.size
  packages     = var.packages
  inputs       = [path.root]
}

source "kiln-local" "unused" {
  image_name = "unused"
}

build {
  sources = ["source.kiln-local.web"]

  provisioner "kiln-container" {
    image      = var.image
    local_name = "web:baked"
  }

  provisioner "kiln-container" {
    only       = ["kiln-local.other"]
    image      = "never"
    local_name = "never:baked"
  }

  provisioner "shell" {
    inline = ["true"]
  }
}
