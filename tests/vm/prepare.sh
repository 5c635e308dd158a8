#!/bin/sh
# Fetches a Debian kernel package and readies it for tests/vm/run.sh: ELF vmlinux, modules, initramfs.
#
#   tests/vm/prepare.sh KERNEL_PACKAGE
#
# KERNEL_PACKAGE is anything `apt-get download` accepts: a kernel image package
# (linux-image-6.1.0-56-amd64), a metapackage that depends on one (linux-image-amd64,
# linux-image-6.12-amd64), or either with /RELEASE or =VERSION. A metapackage is followed to
# the image package it depends on.
#
# If apt does not know the package and this is Debian 12, bookworm-backports is added from the
# mirror that the existing bookworm entry uses (one deb822 file,
# sources.list.d/nettracer-vm-backports.sources, same URI and keyring) and the lists are
# updated; a versioned metapackage missing from the sources (linux-image-6.12-amd64, which
# bookworm-security has) is then looked for as linux-image-amd64/bookworm-backports.
#
# Everything goes under $NT_VM_CACHE (default /var/cache/nettracer-vm), nothing into /boot or
# the host's /lib/modules:
#   kernels/PKG/root/         the extracted .deb, depmod run on it
#   kernels/PKG/vmlinux       the decompressed kernel (qemu boots it through its PVH entry)
#   kernels/PKG/initramfs.cpio  busybox, /init, the modules needed to reach the 9p root
#   kernels/PKG/release       `uname -r` of that kernel
#   specs/SPEC                the image package that SPEC resolved to
# A prepared spec is not looked up again (no apt, well under a second); NT_VM_REFRESH=1
# resolves it anew, e.g. after an ABI bump behind a metapackage.
#
# Prints the kernel directory on stdout; progress goes to stderr. Needs root.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${NT_VM_CACHE:-/var/cache/nettracer-vm}
# Built as =m by Debian and needed before the root filesystem can be mounted.
INITRAMFS_MODULES="virtio_pci 9pnet_virtio 9p overlay"

say() { echo "prepare.sh: $*" >&2; }
die() { say "$*"; exit 1; }

[ $# -eq 1 ] || { echo "usage: $0 KERNEL_PACKAGE" >&2; exit 2; }
SPEC=$1
[ "$(id -u)" -eq 0 ] || die "needs root (apt-get, mknod, depmod)"

tmp=
tmpdir() {
	[ -n "$tmp" ] && return 0
	mkdir -p "$CACHE/debs"
	tmp=$(mktemp -d "$CACHE/debs/tmp.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
}

# True when $kdir/initramfs.cpio exists and is newer than tests/vm/init.
initramfs_current() {
	[ -n "$(find "$kdir/initramfs.cpio" -newer "$HERE/init" 2>/dev/null)" ]
}

# busybox, /init and the modules that reach the root filesystem, in $kdir/initramfs.cpio.
build_initramfs() {
	tmpdir
	stage="$tmp/initramfs"
	release=$(cat "$kdir/release")
	mkdir -p "$stage/bin" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/mods" "$stage/lower" \
		"$stage/rw" "$stage/newroot"
	cp /bin/busybox "$stage/bin/busybox"
	cp "$HERE/init" "$stage/init"
	chmod 755 "$stage/init"
	mknod -m 600 "$stage/dev/console" c 5 1
	mknod -m 666 "$stage/dev/null" c 1 3
	: >"$stage/mods/order"
	# shellcheck disable=SC2086 # a list of module names
	modprobe -a -d "$kdir/root" -S "$release" --show-depends $INITRAMFS_MODULES |
		awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r ko; do
		base=$(basename "$ko")
		case "$ko" in
		*.ko.xz) xz -dc "$ko" >"$stage/mods/${base%.xz}" ;;
		*.ko.zst) zstd -qdc "$ko" >"$stage/mods/${base%.zst}" ;;
		*.ko.gz) gzip -dc "$ko" >"$stage/mods/${base%.gz}" ;;
		*) cp "$ko" "$stage/mods/$base" ;;
		esac
		echo "${base%.ko*}.ko" >>"$stage/mods/order"
	done
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) \
		>"$kdir/initramfs.cpio.$$"
	mv "$kdir/initramfs.cpio.$$" "$kdir/initramfs.cpio"
	say "initramfs: $(tr '\n' ' ' <"$stage/mods/order")"
}

lists_fresh=
apt_update() {
	[ -n "$lists_fresh" ] && return 0
	say "apt-get update"
	apt-get update -qq >&2
	lists_fresh=1
}
# Downloads $1 into $tmp, quietly; fails when apt does not know it.
download() {
	(cd "$tmp" && apt-get download -q "$1" >"$tmp/apt.log" 2>&1)
}

add_backports() {
	parts=
	eval "$(apt-config shell parts Dir::Etc::sourceparts/d)"
	[ -n "$parts" ] || return 1
	file="${parts%/}/nettracer-vm-backports.sources"
	[ -f "$file" ] && return 1
	# shellcheck disable=SC1091
	. /etc/os-release
	[ "${VERSION_CODENAME:-}" = bookworm ] || return 1
	# The mirror the machine already uses for bookworm itself.
	# shellcheck disable=SC2016 # apt's $(FIELD) syntax, not the shell's
	uri=$(apt-get indextargets --format '$(CODENAME) $(REPO_URI)' 2>/dev/null |
		awk '$1 == "bookworm" { print $2; exit }')
	if [ -z "$uri" ]; then
		apt_update
		# shellcheck disable=SC2016
		uri=$(apt-get indextargets --format '$(CODENAME) $(REPO_URI)' 2>/dev/null |
			awk '$1 == "bookworm" { print $2; exit }')
	fi
	[ -n "$uri" ] || uri=http://deb.debian.org/debian/
	say "adding bookworm-backports from $uri ($file)"
	{
		echo "# Added by nettracer tests/vm/prepare.sh: newer kernels for the VM tests."
		echo "Types: deb"
		echo "URIs: $uri"
		echo "Suites: bookworm-backports"
		echo "Components: main"
		[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] &&
			echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
	} >"$file"
	lists_fresh=
	apt_update
}

# Fast path: this spec was prepared before; only a changed /init is rebuilt.
spec_file="$CACHE/specs/$(printf '%s' "$SPEC" | tr '/=' '@+')"
if [ -z "${NT_VM_REFRESH:-}" ] && [ -f "$spec_file" ]; then
	kdir="$CACHE/kernels/$(cat "$spec_file")"
	if [ -f "$kdir/ready" ]; then
		initramfs_current || build_initramfs
		echo "$kdir"
		exit 0
	fi
fi

# ---- Host tools ----
need_pkgs=
command -v qemu-system-x86_64 >/dev/null || need_pkgs="$need_pkgs qemu-system-x86"
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" ||
	need_pkgs="$need_pkgs busybox-static"
command -v cpio >/dev/null || need_pkgs="$need_pkgs cpio"
command -v depmod >/dev/null || need_pkgs="$need_pkgs kmod"
command -v zstd >/dev/null || need_pkgs="$need_pkgs zstd"
command -v xz >/dev/null || need_pkgs="$need_pkgs xz-utils"
if [ -n "$need_pkgs" ]; then
	say "installing$need_pkgs"
	apt_update
	# shellcheck disable=SC2086 # a list of package names
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need_pkgs >&2 ||
		die "could not install$need_pkgs"
fi

mkdir -p "$CACHE/specs" "$CACHE/kernels"
exec 9>"$CACHE/.lock"
flock 9
tmpdir

# ---- Which image package ----
pkg=$SPEC
if ! download "$pkg"; then
	apt_update
	if ! download "$pkg"; then
		add_backports || true
		if ! download "$pkg"; then
			# linux-image-X.Y-FLAVOUR: the backports metapackage of that series.
			flavour=$(printf '%s' "$pkg" | sed -n 's/^linux-image-[0-9]*\.[0-9]*-\([a-z0-9-]*\)$/\1/p')
			[ -n "$flavour" ] || die "apt cannot download $SPEC: $(tail -1 "$tmp/apt.log")"
			pkg="linux-image-$flavour/bookworm-backports"
			say "$SPEC is not in the apt sources: trying $pkg"
			download "$pkg" || die "apt cannot download $SPEC or $pkg: $(tail -1 "$tmp/apt.log")"
			series=$(printf '%s' "$SPEC" | sed 's/^linux-image-\([0-9]*\.[0-9]*\)-.*/\1/')
			dpkg-deb -f "$tmp"/*.deb Depends | grep -q "linux-image-$series\." ||
				die "$pkg is not a $series kernel: $(dpkg-deb -f "$tmp"/*.deb Depends)"
		fi
	fi
fi
deb=$(ls "$tmp"/*.deb)
if [ "$(stat -c %s "$deb")" -lt 1048576 ]; then
	# A metapackage: follow its first linux-image dependency.
	dep=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' |
		sed -n 's/^ *\(linux-image-[^ |]*\).*/\1/p' | head -1)
	[ -n "$dep" ] || die "$SPEC has no kernel and no linux-image dependency"
	say "$SPEC -> $dep"
	rm -f "$deb"
	download "$dep" || die "apt cannot download $dep: $(tail -1 "$tmp/apt.log")"
	deb=$(ls "$tmp"/*.deb)
fi
name=$(dpkg-deb -f "$deb" Package)
version=$(dpkg-deb -f "$deb" Version)
kdir="$CACHE/kernels/$name"

if [ -f "$kdir/ready" ] && [ "$(cat "$kdir/ready")" = "$version" ]; then
	initramfs_current || build_initramfs
	printf '%s\n' "$name" >"$spec_file"
	echo "$kdir"
	exit 0
fi

# ---- Extract, depmod ----
say "preparing $name $version in $kdir"
rm -rf "$kdir"
mkdir -p "$kdir"
dpkg-deb -x "$deb" "$kdir/root"
rm -f "$deb"
vmlinuz=$(find "$kdir/root/boot" -name 'vmlinuz-*' | head -1)
release=${vmlinuz##*/vmlinuz-}
# Debian 12's image packages ship modules under /lib; later ones under /usr/lib.
moddir="$kdir/root/lib/modules/$release"
[ -d "$moddir" ] || { mkdir -p "$kdir/root/lib/modules" &&
	ln -s "../../usr/lib/modules/$release" "$moddir"; }
depmod -b "$kdir/root" "$release"
echo "$release" >"$kdir/release"

# ---- vmlinuz -> ELF vmlinux (the approach of the kernel's scripts/extract-vmlinux) ----
is_elf() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }
extract() { # $1: magic as a grep -P pattern, $2...: decompressor
	magic=$1
	shift
	# shellcheck disable=SC2013 # byte offsets
	for off in $(LC_ALL=C grep -aboP "$magic" "$vmlinuz" | cut -d: -f1); do
		tail -c +"$((off + 1))" "$vmlinuz" | "$@" >"$kdir/vmlinux" 2>/dev/null || true
		is_elf "$kdir/vmlinux" && return 0
	done
	return 1
}
extract '\xfd7zXZ\x00' xz -dc || extract '\x28\xb5\x2f\xfd' zstd -dc ||
	extract '\x1f\x8b\x08' gzip -dc || die "cannot decompress $vmlinuz"

build_initramfs
echo "$version" >"$kdir/ready"
printf '%s\n' "$name" >"$spec_file"
say "ready: $release"
echo "$kdir"
