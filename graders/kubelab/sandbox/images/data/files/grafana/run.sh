#!/bin/sh
# kubelab's stand-in for the /run.sh of the grafana/grafana image: the same start-up checks and
# environment contract (GF_PATHS_*, GF_*__FILE, GF_SERVER_HTTP_PORT), then BusyBox's httpd
# answering /api/health, /healthz, /login and / instead of Grafana's server. It is not Grafana.
set -e

PERMISSIONS_OK=0
if [ ! -r "$GF_PATHS_CONFIG" ]; then
    echo "GF_PATHS_CONFIG='$GF_PATHS_CONFIG' is not readable."
    PERMISSIONS_OK=1
fi
if [ ! -w "$GF_PATHS_DATA" ]; then
    echo "GF_PATHS_DATA='$GF_PATHS_DATA' is not writable."
    PERMISSIONS_OK=1
fi
if [ ! -r "$GF_PATHS_HOME" ]; then
    echo "GF_PATHS_HOME='$GF_PATHS_HOME' is not readable."
    PERMISSIONS_OK=1
fi
if [ "$PERMISSIONS_OK" -eq 1 ]; then
    echo "You may have issues with file permissions, more information here: http://docs.grafana.org/installation/docker/#migrate-to-v51-or-later"
fi

if [ ! -d "$GF_PATHS_PLUGINS" ]; then
    mkdir "$GF_PATHS_PLUGINS"
fi

# GF_X__FILE=/path gives GF_X the content of that file, as the official image does.
for VAR_NAME in $(env | grep -E '^GF_[^=]+__FILE=.+' | sed -E 's/([^=]*)__FILE=.*/\1/'); do
    eval VAR="\$$VAR_NAME"
    if [ -n "$VAR" ]; then
        echo >&2 "ERROR: Both $VAR_NAME and ${VAR_NAME}__FILE are set (but are exclusive)"
        exit 1
    fi
    eval FILE="\$${VAR_NAME}__FILE"
    echo "Getting secret $VAR_NAME from $FILE"
    export "$VAR_NAME"="$(cat "$FILE")"
    unset "${VAR_NAME}__FILE"
done

export HOME="$GF_PATHS_HOME"

# Grafana's server opens its SQLite database in the data folder first, and stops when it cannot.
DATABASE="$GF_PATHS_DATA/grafana.db"
if ! { : >> "$DATABASE"; } 2>/dev/null; then
    echo "logger=sqlstore level=error msg=\"failed to open database\" path=$DATABASE error=\"unable to open database file: permission denied\"" >&2
    exit 1
fi

PORT="${GF_SERVER_HTTP_PORT:-3000}"
echo "logger=kubelab level=info msg=\"stand-in for Grafana (BusyBox httpd): GET /api/health, /healthz, /login and / on port $PORT\""
exec httpd -f -v -p "$PORT" -h "$GF_PATHS_HOME/public"
