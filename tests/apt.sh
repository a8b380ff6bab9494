# SPDX-License-Identifier: ISC
# apt-get that waits for the package manager instead of failing while another
# apt or dpkg (unattended-upgrades on a fresh machine, say) holds its lock.
# Sourced by tests/deps.sh and bench/run.sh. POSIX sh.
#
#   apt_get ARGS...     apt-get ARGS, waiting up to $VEIL_APT_WAIT seconds
#                       (default 600) for the locks, saying once who holds them

APT_LOCKS="/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock \
/var/cache/apt/archives/lock"

# Prints the pid holding one of the package manager's locks, or nothing.
# dpkg and apt take fcntl locks: /proc/locks lists them by device and inode.
apt_lock_holder() {
	for f in $APT_LOCKS; do
		[ -e "$f" ] || continue
		ino=$(stat -c %i "$f" 2>/dev/null) || continue
		# "1: POSIX  ADVISORY  WRITE 1234 fe:01:56789 0 EOF": pid, then maj:min:inode.
		pid=$(awk -v ino="$ino" '{ n = split($6, d, ":"); if (d[n] == ino) { print $5; exit } }' \
		    /proc/locks 2>/dev/null)
		[ -n "$pid" ] && { echo "$pid"; return 0; }
	done
	return 0
}

apt_get() {
	deadline=$(( $(date +%s) + ${VEIL_APT_WAIT:-600} ))
	said=""
	while :; do
		pid=$(apt_lock_holder)
		if [ -z "$pid" ]; then
			# The lock can be taken between our look and apt's: apt then
			# fails at once with "Could not get lock"; look again.
			out=$(DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=10 "$@" 2>&1) &&
				{ [ -n "$out" ] && printf '%s\n' "$out"; return 0; }
			case $out in
			*"Could not get lock"*|*"Unable to lock"*|*"Unable to acquire"*) ;;
			*) printf '%s\n' "$out" >&2; return 1 ;;
			esac
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "veil: the package manager stayed locked for ${VEIL_APT_WAIT:-600} s" \
			    "(by pid ${pid:-?}); run the install again once it is done" >&2
			return 1
		fi
		if [ -z "$said" ]; then
			name=$(cat "/proc/${pid:-0}/comm" 2>/dev/null || echo "another process")
			echo "veil: waiting for the package manager: its lock is held by" \
			    "${name} (pid ${pid:-?})" >&2
			said=1
		fi
		sleep 1
	done
}
