#!/bin/sh
# What a configured-at-boot instance does before it can serve: create the
# users, pull the container, install and start the unit.
set -eu
. /etc/default/firstboot
getent group wpt-sync >/dev/null || groupadd --gid 1001 wpt-sync
getent group wpt-server >/dev/null || groupadd --gid 1000 wpt-server
id wpt-sync >/dev/null 2>&1 ||
	useradd --uid 1001 --gid wpt-sync --create-home wpt-sync
id wpt-server >/dev/null 2>&1 ||
	useradd --uid 1000 --gid wpt-server --groups wpt-sync --create-home wpt-server
docker pull "$IMAGE"
docker tag "$IMAGE" wpt-server:baked
cp /usr/local/share/wpt-server.service /etc/systemd/system/
systemctl daemon-reload
systemctl enable --now --no-block wpt-server.service
touch /var/lib/firstboot.done
