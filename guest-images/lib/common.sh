# Shared helpers of the guest-image recipes (sourced, not run): logging to stderr, so stdout
# carries only each script's result path, and installing missing Debian packages.
# The caller sets `script_name` first. Not part of any cache key: nothing here shapes an image.

log() { echo "$script_name: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Installs the Debian packages given that are missing (apt-get update once if one is not found).
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
        { apt-get update >&2 && apt-get install -y --no-install-recommends "${missing[@]}" >&2; }
}
