#!/bin/sh
# kiln-ready: once start-up is over, print one line on the serial console
# saying how the machine came up, for `mage verify` and for GCE's serial
# port output. Format (fields separated by spaces, lists by commas, "-"
# for an empty list):
#   KILN-READY v1 state=S uptime=SECONDS root=BYTES enabled=UNIT:STATE,...
#     failed=UNIT,... containers=NAME=IMAGE@ID,...
# The state is this script's verdict, not systemd's: is-system-running
# says "starting" for as long as a job is pending, and this unit's own
# job is pending while it runs. It is "degraded" when a unit failed or
# one reported is neither active nor inactive (a crash loop), else
# "starting" when the wait below ran out, else "running".
set -u

units=/etc/kiln/ready-units

# Wait, at most 10 minutes, until the image's own units (those its
# template enabled, listed by the builder) have settled; without the list,
# until no start-up job but this one is pending. The image's units, not
# the whole boot: agents that wait for a cloud's metadata server (the
# Google guest agent) would hold a boot under QEMU for many minutes.
settled() {
	if [ -s "$units" ]; then
		jobs=$(systemctl list-jobs --no-legend 2>/dev/null)
		# shellcheck disable=SC2013 # unit names hold no spaces
		for u in $(cat "$units"); do
			# A start still queued: not yet.
			printf '%s\n' "$jobs" | grep -q " $u " && return 1
			case $(systemctl is-active "$u" 2>/dev/null) in
			deactivating | reloading) return 1 ;;
			activating)
				# Restarted twice already: a crash loop is an answer.
				[ "$(systemctl show -p SubState --value "$u")" = \
					auto-restart ] &&
					[ "$(systemctl show -p NRestarts --value "$u")" -ge 2 ] ||
					return 1
				;;
			esac
		done
		return 0
	fi
	[ "$(systemctl list-jobs --no-legend 2>/dev/null |
		grep -cv kiln-ready)" -eq 0 ]
}
state=starting
i=0
while [ "$i" -lt 600 ]; do
	settled && state=running && break
	sleep 1
	i=$((i + 1))
done

list() {
	out=$(tr '\n' ',' | sed 's/,$//')
	[ -n "$out" ] && printf %s "$out" || printf -
}

uptime=$(cut -d' ' -f1 /proc/uptime)
if [ -s "$units" ]; then
	names=$(cat "$units")
else
	names=$(systemctl list-unit-files --state=enabled --no-legend \
		--type=service 2>/dev/null | awk '{print $1}' |
		grep -v -e '@' -e '^kiln-ready')
fi
states=$(for u in $names; do
	printf '%s:%s\n' "$u" "$(systemctl is-active "$u" 2>/dev/null)"
done)
enabled=$(printf '%s' "$states" | list)
failed=$(systemctl list-units --state=failed --no-legend --plain \
	2>/dev/null | awk '{print $1}' | list)
if [ "$failed" != - ] || printf '%s\n' "$states" |
	grep -qv -e '^$' -e ':active$' -e ':inactive$'; then
	state=degraded
fi
containers=-
if command -v docker >/dev/null 2>&1; then
	ids=$(docker ps -q 2>/dev/null)
	if [ -n "$ids" ]; then
		# shellcheck disable=SC2086 # one argument per container
		containers=$(docker inspect --format \
			'{{slice .Name 1}}={{.Config.Image}}@{{.Image}}' $ids | list)
	fi
fi
# The root file system's size shows whether it grew onto a disk bigger
# than the image.
root=$(df -B1 --output=size / 2>/dev/null | tail -n 1 | tr -d ' ')
line="KILN-READY v1 state=$state uptime=$uptime root=${root:--} enabled=$enabled failed=$failed containers=$containers"
echo "$line"
for tty in /dev/ttyS0 /dev/console; do
	[ -w "$tty" ] && echo "$line" > "$tty" && break
done
exit 0
