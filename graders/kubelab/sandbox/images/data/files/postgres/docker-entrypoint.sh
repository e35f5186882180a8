#!/bin/sh
# Entrypoint of kubelab's postgres stand-in (Debian's PostgreSQL 17).
# It keeps the official image's contract: POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB,
# POSTGRES_INITDB_ARGS, POSTGRES_INITDB_WALDIR, POSTGRES_HOST_AUTH_METHOD (and their *_FILE
# variants), PGDATA, /docker-entrypoint-initdb.d, a step down from root to postgres (999)
# and a direct start as any non-root uid.
set -e

# file_env VAR [DEFAULT]: export VAR from itself, from the file named by VAR_FILE, or DEFAULT.
file_env() {
	var="$1"
	file_var="${var}_FILE"
	default="${2:-}"
	eval "value=\${$var:-}"
	eval "file_value=\${$file_var:-}"
	if [ -n "$value" ] && [ -n "$file_value" ]; then
		echo >&2 "error: both $var and $file_var are set (but are exclusive)"
		exit 1
	fi
	if [ -n "$file_value" ]; then
		value="$(cat "$file_value")"
	elif [ -z "$value" ]; then
		value="$default"
	fi
	export "$var=$value"
	unset "$file_var"
}

wants_help() {
	for arg; do
		case "$arg" in
			-'?' | --help | --describe-config | -V | --version) return 0 ;;
		esac
	done
	return 1
}

setup_env() {
	file_env POSTGRES_PASSWORD
	file_env POSTGRES_USER postgres
	file_env POSTGRES_DB "$POSTGRES_USER"
	file_env POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=}"
	: "${POSTGRES_INITDB_WALDIR:=}"
	DATABASE_ALREADY_EXISTS=
	if [ -s "$PGDATA/PG_VERSION" ]; then
		DATABASE_ALREADY_EXISTS=true
	fi
}

create_db_directories() {
	mkdir -p "$PGDATA"
	chmod 00700 "$PGDATA" || :
	mkdir -p /var/run/postgresql || :
	chmod 03775 /var/run/postgresql || :
	if [ -n "$POSTGRES_INITDB_WALDIR" ]; then
		mkdir -p "$POSTGRES_INITDB_WALDIR"
		if [ "$(id -u)" = 0 ]; then
			find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres '{}' +
		fi
		chmod 700 "$POSTGRES_INITDB_WALDIR"
	fi
	if [ "$(id -u)" = 0 ]; then
		find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
		find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
	fi
}

verify_minimum_env() {
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		cat >&2 <<-'EOF'
			Error: Database is uninitialized and superuser password is not specified.
			       Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to a non-empty value,
			       or POSTGRES_HOST_AUTH_METHOD=trust to accept every connection without
			       a password (not recommended).
		EOF
		exit 1
	fi
	if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
		echo >&2 "warning: POSTGRES_HOST_AUTH_METHOD=trust: every connection is accepted without a password."
	fi
}

# An arbitrary uid with no passwd entry gets one through nss_wrapper, as initdb needs a user name.
nss_wrapper_on() {
	uid="$(id -u)"
	if grep -q "^[^:]*:[^:]*:$uid:" /etc/passwd; then
		return 0
	fi
	for wrapper in /usr/lib/x86_64-linux-gnu/libnss_wrapper.so /usr/lib/libnss_wrapper.so; do
		if [ -s "$wrapper" ]; then
			NSS_WRAPPER_PASSWD="$(mktemp)"
			NSS_WRAPPER_GROUP="$(mktemp)"
			export LD_PRELOAD="$wrapper" NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
			gid="$(id -g)"
			printf 'postgres:x:%s:%s:PostgreSQL:%s:/bin/false\n' "$uid" "$gid" "$PGDATA" >"$NSS_WRAPPER_PASSWD"
			printf 'postgres:x:%s:\n' "$gid" >"$NSS_WRAPPER_GROUP"
			return 0
		fi
	done
}

nss_wrapper_off() {
	case "${LD_PRELOAD:-}" in
		*/libnss_wrapper.so)
			rm -f "$NSS_WRAPPER_PASSWD" "$NSS_WRAPPER_GROUP"
			unset LD_PRELOAD NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
			;;
	esac
}

init_database_dir() {
	nss_wrapper_on
	if [ -n "$POSTGRES_INITDB_WALDIR" ]; then
		set -- --waldir "$POSTGRES_INITDB_WALDIR" "$@"
	fi
	# POSTGRES_INITDB_ARGS is split on blanks on purpose, as the official image does.
	# shellcheck disable=SC2086
	printf '%s\n' "$POSTGRES_PASSWORD" |
		initdb --username="$POSTGRES_USER" --pwfile=/dev/stdin $POSTGRES_INITDB_ARGS "$@"
	nss_wrapper_off
}

setup_hba_conf() {
	if [ "${1:-}" = postgres ]; then
		shift
	fi
	if [ -z "$POSTGRES_HOST_AUTH_METHOD" ]; then
		POSTGRES_HOST_AUTH_METHOD="$(postgres -C password_encryption "$@")"
	fi
	{
		printf '\n'
		if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
			printf '# warning trust is enabled for all connections\n'
		fi
		printf 'host all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD"
	} >>"$PGDATA/pg_hba.conf"
}

# shell_quote ARG...: ARGs quoted for the shell that pg_ctl -o hands them to.
shell_quote() {
	for arg; do
		printf "'%s' " "$(printf '%s' "$arg" | sed "s/'/'\\\\''/g")"
	done
}

temp_server_start() {
	if [ "${1:-}" = postgres ]; then
		shift
	fi
	set -- "$@" -c listen_addresses= -p "${PGPORT:-5432}"
	PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -o "$(shell_quote "$@")" -w start
}

temp_server_stop() {
	PGUSER="${PGUSER:-postgres}" pg_ctl -D "$PGDATA" -m fast -w stop
}

# process_sql [psql options]: psql on the local socket as POSTGRES_USER, stopping at the first error.
process_sql() {
	if [ -n "$POSTGRES_DB" ]; then
		set -- --dbname "$POSTGRES_DB" "$@"
	fi
	PGHOST= PGHOSTADDR= psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"
}

setup_db() {
	exists="$(POSTGRES_DB= process_sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only <<-'EOSQL'
		SELECT 1 FROM pg_database WHERE datname = :'db' ;
	EOSQL
	)"
	if [ -z "$exists" ]; then
		POSTGRES_DB= process_sql --dbname postgres --set db="$POSTGRES_DB" <<-'EOSQL'
			CREATE DATABASE :"db" ;
		EOSQL
		echo
	fi
}

process_init_files() {
	for f; do
		[ -e "$f" ] || continue
		case "$f" in
			*.sh)
				if [ -x "$f" ]; then
					echo "$0: running $f"
					"$f"
				else
					echo "$0: sourcing $f"
					# shellcheck disable=SC1090
					. "$f"
				fi
				;;
			*.sql) echo "$0: running $f"; process_sql -f "$f"; echo ;;
			*.sql.gz) echo "$0: running $f"; gunzip -c "$f" | process_sql; echo ;;
			*.sql.xz) echo "$0: running $f"; xzcat "$f" | process_sql; echo ;;
			*) echo "$0: ignoring $f" ;;
		esac
		echo
	done
}

if [ "${1#-}" != "$1" ]; then
	set -- postgres "$@"
fi

if [ "${1:-}" = postgres ] && ! wants_help "$@"; then
	setup_env
	create_db_directories
	if [ "$(id -u)" = 0 ]; then
		exec gosu postgres "$0" "$@"
	fi
	if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
		verify_minimum_env
		ls /docker-entrypoint-initdb.d/ >/dev/null
		init_database_dir
		setup_hba_conf "$@"
		export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
		temp_server_start "$@"
		setup_db
		process_init_files /docker-entrypoint-initdb.d/*
		temp_server_stop
		unset PGPASSWORD
		echo
		echo 'PostgreSQL init process complete; ready for start up.'
		echo
	else
		echo
		echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
		echo
	fi
fi

exec "$@"
