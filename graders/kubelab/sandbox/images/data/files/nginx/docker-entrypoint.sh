#!/bin/sh
# Entrypoint of kubelab's nginx stand-ins (Debian's nginx), as in the official image: before
# starting nginx it runs the executable *.sh and sources the *.envsh of /docker-entrypoint.d.
set -e

log() {
	if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
		echo "$@"
	fi
}

if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
	scripts="$(find /docker-entrypoint.d/ -follow -type f 2>/dev/null | sort)"
	if [ -n "$scripts" ]; then
		log "$0: /docker-entrypoint.d/ is not empty, will attempt to perform configuration"
		for f in $scripts; do
			case "$f" in
				*.envsh)
					if [ -x "$f" ]; then
						log "$0: Sourcing $f"
						# shellcheck disable=SC1090
						. "$f"
					else
						log "$0: Ignoring $f, not executable"
					fi
					;;
				*.sh)
					if [ -x "$f" ]; then
						log "$0: Launching $f"
						"$f"
					else
						log "$0: Ignoring $f, not executable"
					fi
					;;
				*) log "$0: Ignoring $f" ;;
			esac
		done
		log "$0: Configuration complete; ready for start up"
	else
		log "$0: No files found in /docker-entrypoint.d/, skipping configuration"
	fi
fi

exec "$@"
