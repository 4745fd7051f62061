# Shared by scripts/run and scripts/test: Debian packages and the build.
# shellcheck shell=bash

VIX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# What building and testing vix needs from Debian (12, bookworm); libpq-dev
# builds the PostgreSQL store backend in (vixd runs on LMDB without a server),
# libsodium-dev the blind pseudonyms' group operations, libcurl4-openssl-dev
# the delivery to webhooks, python3-yaml the publiccode.yml check (tests/tools).
# chromium renders the web pages in the browser tests (tests/browser), with
# the theme's font (Noto Sans) and a fallback for headless rendering.
VIX_PACKAGES=(
	gcc libc6-dev pkg-config meson ninja-build
	protobuf-c-compiler libprotobuf-c-dev
	libevent-dev libssl-dev openssl libinih-dev liblmdb-dev
	libcriterion-dev libfaketime prometheus tzdata
	systemd man-db lmdb-utils testssl.sh
	libpq-dev libsodium-dev libcurl4-openssl-dev python3-yaml
	chromium fonts-noto-core fonts-dejavu-core
)
# Node.js and npm install web/ (style sheets, browser-test tools). Asked for
# by command, not by package: a newer Node.js from elsewhere brings its own
# npm, and Debian's npm package would not go beside it.
command -v node >/dev/null || VIX_PACKAGES+=(nodejs)
command -v npm >/dev/null || VIX_PACKAGES+=(npm)

# The oldest Node.js web/package-lock.json is pinned for (Debian 12 has 18).
VIX_NODE_MIN=18

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

# web/node_modules from web/package-lock.json, exactly (npm ci), when it is
# missing or older than the lock file; the registry is asked only then.
vix_web_assets() {
	local web=$VIX_ROOT/web major
	command -v node >/dev/null && command -v npm >/dev/null || {
		echo "web/ needs Node.js >= $VIX_NODE_MIN and npm" \
			"(Debian packages nodejs and npm)" >&2
		return 1
	}
	major=$(node -p 'process.versions.node.split(".")[0]')
	[ "$major" -ge "$VIX_NODE_MIN" ] || {
		echo "web/ needs Node.js >= $VIX_NODE_MIN; node is $(node --version)" >&2
		return 1
	}
	if [ -f "$web/node_modules/.package-lock.json" ] &&
		[ ! "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ] &&
		[ ! "$web/package.json" -nt "$web/node_modules/.package-lock.json" ]; then
		return 0
	fi
	echo "installing web/node_modules (npm ci)"
	(cd "$web" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
		{ echo "npm ci in web/ failed (see above)" >&2; return 1; }
}
