#!/bin/sh
# Entrypoint of kubelab's redis stand-in (Debian's redis-server), as in the official image:
# options or a *.conf file alone start redis-server, root steps down to redis (999) after
# taking ownership of the working directory, and the umask becomes 0077.
set -e

if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
	set -- redis-server "$@"
fi

if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
	find . \! -user redis -exec chown redis '{}' +
	exec gosu redis "$0" "$@"
fi

# The official image builds redis with protected mode off; Debian's binary has it on, so the
# option is added unless a configuration file given as the first argument sets it.
if [ "$1" = redis-server ]; then
	shift
	config=
	if [ -n "${1:-}" ] && [ "${1#-}" = "$1" ]; then
		config="$1"
		shift
	fi
	if [ -n "$config" ] && grep -qi '^[[:space:]]*protected-mode' "$config" 2>/dev/null; then
		set -- redis-server "$config" "$@"
	elif [ -n "$config" ]; then
		set -- redis-server "$config" --protected-mode no "$@"
	else
		set -- redis-server --protected-mode no "$@"
	fi
fi

um="$(umask)"
if [ "$um" = 0022 ]; then
	umask 0077
fi

exec "$@"
