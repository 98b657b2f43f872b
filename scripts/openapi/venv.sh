# Sourced by the OpenAPI scripts: a cached virtualenv with the pinned tools
# of requirements.txt (from PyPI; none of their code is part of this
# project), rebuilt when that file changes. Sets $venv.
openapi_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${PLACEMENT_OPENAPI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/placement-openapi}"
venv="$cache/venv"
req="$openapi_here/requirements.txt"
want="$(sha256sum "$req" | cut -d' ' -f1)"
mkdir -p "$cache"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
  echo "preparing the OpenAPI tools' virtualenv in $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
  echo "$want" > "$venv/.requirements.sha256"
fi
