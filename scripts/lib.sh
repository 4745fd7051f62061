# Shared by scripts/run and scripts/test: Debian packages and the build.
# shellcheck shell=bash

VIX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# What building and testing vix needs from Debian (12, bookworm); libpq-dev
# builds the PostgreSQL store backend in (vixd runs on LMDB without a server),
# libsodium-dev the blind pseudonyms' group operations, libcurl4-openssl-dev
# the delivery to webhooks, python3-yaml the publiccode.yml check (tests/tools).
VIX_PACKAGES=(
	gcc libc6-dev pkg-config meson ninja-build
	protobuf-c-compiler libprotobuf-c-dev
	libevent-dev libssl-dev openssl libinih-dev liblmdb-dev
	libcriterion-dev libfaketime prometheus tzdata
	systemd man-db lmdb-utils testssl.sh
	libpq-dev libsodium-dev libcurl4-openssl-dev python3-yaml
)

vix_missing_packages() {
	local p missing=()
	for p in "${VIX_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed" || missing+=("$p")
	done
	echo "${missing[*]}"
}

# Install what is missing when we may; otherwise say what to run and stop.
vix_ensure_packages() {
	local missing
	missing=$(vix_missing_packages)
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -eq 0 ]; then
		echo "installing: $missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq &&
			apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
			{ echo "apt-get install failed" >&2; return 1; }
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		echo "installing with sudo: $missing"
		sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
			sudo -n env DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
			{ echo "apt-get install failed" >&2; return 1; }
	else
		echo "vix needs these Debian packages; install them and run again:" >&2
		echo "  sudo apt-get install $missing" >&2
		return 1
	fi
}

# vix_build DIR [meson options...]: configure once, then build.
vix_build() {
	local dir=$1
	shift
	if [ ! -f "$VIX_ROOT/$dir/build.ninja" ]; then
		meson setup "$VIX_ROOT/$dir" "$VIX_ROOT" "$@" >/dev/null ||
			{ echo "meson setup $dir failed" >&2; return 1; }
	fi
	ninja -C "$VIX_ROOT/$dir" >/dev/null ||
		{ ninja -C "$VIX_ROOT/$dir"; return 1; }
}
