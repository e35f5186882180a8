#!/bin/sh
# /etc/nginx/templates/NAME.template becomes /etc/nginx/conf.d/NAME with ${VAR} replaced by the
# value of every environment variable that is set (the official image uses envsubst for this).
set -e

template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
filter="${NGINX_ENVSUBST_FILTER:-}"

[ -d "$template_dir" ] || exit 0
for template in $(find "$template_dir" -follow -type f -name "*$suffix" | sort); do
	relative="${template#"$template_dir/"}"
	output="$output_dir/${relative%"$suffix"}"
	if [ ! -w "$output_dir" ]; then
		echo >&2 "$0: ERROR: $output_dir is not writable"
		exit 0
	fi
	mkdir -p "$(dirname "$output")"
	echo "$0: Running envsubst on $template to $output"
	awk -v filter="$filter" '
	{
		line = $0
		out = ""
		while (match(line, /\$\{[A-Za-z_][A-Za-z0-9_]*\}/)) {
			name = substr(line, RSTART + 2, RLENGTH - 3)
			if ((name in ENVIRON) && (filter == "" || name ~ filter)) {
				out = out substr(line, 1, RSTART - 1) ENVIRON[name]
			} else {
				out = out substr(line, 1, RSTART + RLENGTH - 1)
			}
			line = substr(line, RSTART + RLENGTH)
		}
		print out line
	}' "$template" >"$output"
done
