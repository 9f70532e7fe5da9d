#!/bin/sh
# kiln-ready: once start-up is over, print one line on the serial console
# saying how the machine came up, for `mage verify` and for GCE's serial
# port output. Format (fields separated by spaces, lists by commas, "-"
# for an empty list):
#   KILN-READY v1 state=S uptime=SECONDS enabled=UNIT:STATE,...
#     failed=UNIT,... containers=NAME=IMAGE@ID,...
set -u

# Wait until no start-up job but this one is pending, at most 10 minutes.
i=0
while [ "$i" -lt 600 ]; do
	jobs=$(systemctl list-jobs --no-legend 2>/dev/null | grep -cv kiln-ready)
	[ "$jobs" -eq 0 ] && break
	sleep 1
	i=$((i + 1))
done

list() {
	out=$(tr '\n' ',' | sed 's/,$//')
	[ -n "$out" ] && printf %s "$out" || printf -
}

state=$(systemctl is-system-running 2>/dev/null)
uptime=$(cut -d' ' -f1 /proc/uptime)
enabled=$(systemctl list-unit-files --state=enabled --no-legend \
	--type=service 2>/dev/null | awk '{print $1}' |
	grep -v -e '@' -e '^kiln-ready' |
	while read -r u; do
		printf '%s:%s\n' "$u" "$(systemctl is-active "$u" 2>/dev/null)"
	done | list)
failed=$(systemctl list-units --state=failed --no-legend --plain \
	2>/dev/null | awk '{print $1}' | list)
containers=-
if command -v docker >/dev/null 2>&1; then
	ids=$(docker ps -q 2>/dev/null)
	if [ -n "$ids" ]; then
		containers=$(docker inspect --format \
			'{{slice .Name 1}}={{.Config.Image}}@{{.Image}}' $ids | list)
	fi
fi
line="KILN-READY v1 state=$state uptime=$uptime enabled=$enabled failed=$failed containers=$containers"
echo "$line"
for tty in /dev/ttyS0 /dev/console; do
	[ -w "$tty" ] && echo "$line" > "$tty" && break
done
exit 0
