#!/usr/bin/env bash
# Builds a flashable arm64 Debian disk image with Gridpad (see packaging/README.md, "Image").
#
#   bash packaging/image/build-image.sh --deb packaging/out/gridpad_0.1.0-1_arm64.deb \
#        --release-key release.key.pub [--out gridpad-arm64.img] [--suite bookworm] \
#        [--mirror http://deb.debian.org/debian] [--root-size 2048] [--data-size 1024] \
#        [--kernel] [--provision devices.csv --device LABEL --hub-url URL
#         --admin-token-file FILE [--hub-ca CA.pem]]   (the hub issues the enrollment code)
#
# Layout (GPT):  1 "boot"   FAT32, 256 MiB — board firmware/bootloader/kernel (board-specific;
#                                            --kernel adds Debian's generic arm64 kernel)
#                2 "rootfs" ext4            — Debian minbase + systemd + Gridpad + fonts
#                3 "data"   ext4            — /data: the encrypted store (/data/gridpad,
#                                            bind-mounted on /var/lib/gridpad); updates never
#                                            touch it; provisioning writes here
# The filesystems are made from directories (mkfs.ext4 -d, mtools), so no loop device or
# mount is needed. Needs root (mmdebstrap runs maintainer scripts in a chroot under
# qemu-user-static through binfmt_misc).
set -euo pipefail
cd "$(dirname "$0")/../.."

DEB=""; KEY=""; OUT=gridpad-arm64.img; SUITE=bookworm; MIRROR=http://deb.debian.org/debian
ROOT_MB=2048; DATA_MB=1024; BOOT_MB=256; KERNEL=0; CSV=""; DEVICE=""; HUB=""; TOKEN=""; HUB_CA=""
while [ $# -gt 0 ]; do
  case "$1" in
    --deb) DEB=$2; shift 2 ;;
    --release-key) KEY=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --suite) SUITE=$2; shift 2 ;;
    --mirror) MIRROR=$2; shift 2 ;;
    --root-size) ROOT_MB=$2; shift 2 ;;
    --data-size) DATA_MB=$2; shift 2 ;;
    --kernel) KERNEL=1; shift ;;
    --provision) CSV=$2; shift 2 ;;
    --device) DEVICE=$2; shift 2 ;;
    --hub-url) HUB=$2; shift 2 ;;
    --admin-token-file) TOKEN=$2; shift 2 ;;
    --hub-ca) HUB_CA=$2; shift 2 ;;
    *) sed -n '2,20p' "$0"; exit 2 ;;
  esac
done
[ -f "$DEB" ] || { echo "build-image: --deb FILE (packaging/build-deb.sh arm64) is required" >&2; exit 2; }
[ -f "$KEY" ] || { echo "build-image: --release-key FILE.pub (gridctl keygen) is required" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "build-image: run as root" >&2; exit 2; }
if [ -n "$CSV" ] && { [ -z "$HUB" ] || [ ! -f "$TOKEN" ]; }; then
  echo "build-image: --provision needs --hub-url and --admin-token-file (gridhub admin api-token)" >&2; exit 2
fi

export DEBIAN_FRONTEND=noninteractive
need=()
for p in mmdebstrap arch-test qemu-user-static binfmt-support e2fsprogs fdisk dosfstools mtools; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then apt-get update -q; apt-get install -y -q --no-install-recommends "${need[@]}"; fi
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64

start=$(date +%s)
WORK=$(mktemp -d /var/tmp/gridpad-image.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/rootfs
cp "$DEB" "$WORK/gridpad.deb"
cp "$KEY" "$WORK/release.pub"
KEY_ID=$(sed -n 's/.*"key_id": *"\([0-9a-f]*\)".*/\1/p' "$KEY")
[ -n "$KEY_ID" ] || { echo "build-image: $KEY is not a gridctl public key" >&2; exit 2; }

PKGS=systemd-sysv,udev,dbus,kmod,iproute2,iputils-ping,ca-certificates,curl,locales,tzdata
PKGS=$PKGS,fonts-noto-cjk,fontconfig,libinput10,libxkbcommon0,libfontconfig1,libgbm1,libdrm2
PKGS=$PKGS,systemd-timesyncd,e2fsprogs,ifupdown,isc-dhcp-client,wpasupplicant
[ $KERNEL = 1 ] && PKGS=$PKGS,linux-image-arm64,initramfs-tools

echo "== mmdebstrap $SUITE arm64 ($(date +%T))"
mmdebstrap --architectures=arm64 --variant=minbase --include="$PKGS" \
  --customize-hook='copy-in '"$WORK"'/gridpad.deb /tmp' \
  --customize-hook='chroot "$1" dpkg -i /tmp/gridpad.deb && rm "$1/tmp/gridpad.deb"' \
  --customize-hook='mkdir -p "$1/etc/gridpad/update-keys"' \
  --customize-hook='copy-in '"$WORK"'/release.pub /etc/gridpad/update-keys' \
  --customize-hook='mv "$1/etc/gridpad/update-keys/release.pub" "$1/etc/gridpad/update-keys/'"$KEY_ID"'.pub"' \
  --customize-hook='echo "zh_CN.UTF-8 UTF-8" > "$1/etc/locale.gen"; echo "en_US.UTF-8 UTF-8" >> "$1/etc/locale.gen"; chroot "$1" locale-gen' \
  --customize-hook='echo "LANG=zh_CN.UTF-8" > "$1/etc/default/locale"; ln -sf /usr/share/zoneinfo/Asia/Shanghai "$1/etc/localtime"; echo Asia/Shanghai > "$1/etc/timezone"' \
  --customize-hook='echo gridpad > "$1/etc/hostname"; printf "127.0.0.1 localhost\n127.0.1.1 gridpad\n" > "$1/etc/hosts"' \
  --customize-hook='mkdir -p "$1/data" "$1/var/lib/gridpad"' \
  --customize-hook='printf "%s\n" "PARTLABEL=rootfs / ext4 defaults,noatime,errors=remount-ro 0 1" "PARTLABEL=boot /boot/firmware vfat defaults,noatime,umask=0077 0 2" "PARTLABEL=data /data ext4 defaults,noatime,nodev,nosuid,noexec 0 2" "/data/gridpad /var/lib/gridpad none bind,x-systemd.requires-mounts-for=/data 0 0" > "$1/etc/fstab"; mkdir -p "$1/boot/firmware"' \
  --customize-hook='chroot "$1" systemctl enable gridpad.service gridpad-update.path' \
  --customize-hook='chroot "$1" passwd --lock root' \
  --customize-hook='rm -rf "$1/var/cache/apt/archives/"*.deb "$1/var/lib/apt/lists/"*' \
  "$SUITE" "$ROOT" "$MIRROR"
echo "== rootfs done in $(( $(date +%s) - start )) s: $(du -sh "$ROOT" | cut -f1)"

GP_UID=$(awk -F: '$1 == "gridpad" { print $3 }' "$ROOT/etc/passwd")
GP_GID=$(awk -F: '$1 == "gridpad" { print $3 }' "$ROOT/etc/group")
[ -n "$GP_UID" ] && [ -n "$GP_GID" ] || { echo "build-image: the package did not create the gridpad user" >&2; exit 1; }

# The data partition's initial content: /gridpad owned by the app user, 0700.
DATA=$WORK/data
mkdir -p "$DATA/gridpad"
chown "$GP_UID:$GP_GID" "$DATA/gridpad"; chmod 0700 "$DATA/gridpad"
BOOT=$WORK/boot
mkdir -p "$BOOT"
if [ $KERNEL = 1 ]; then cp -a "$ROOT"/boot/vmlinuz-* "$ROOT"/boot/initrd.img-* "$BOOT"/ 2>/dev/null || true; fi
echo "Board-specific: put the bootloader, kernel and device tree of the handheld here." > "$BOOT/README.txt"

echo "== filesystems"
mkfs.vfat -n BOOT -C "$WORK/boot.img" $((BOOT_MB * 1024)) >/dev/null
mcopy -s -i "$WORK/boot.img" "$BOOT"/* ::/
mkfs.ext4 -q -L rootfs -d "$ROOT" "$WORK/root.img" "${ROOT_MB}M"
mkfs.ext4 -q -L data -d "$DATA" "$WORK/data.img" "${DATA_MB}M"

echo "== disk image"
rm -f "$OUT"
TOTAL_MB=$((1 + BOOT_MB + ROOT_MB + DATA_MB + 1))
truncate -s "${TOTAL_MB}M" "$OUT"
sfdisk -q "$OUT" <<PARTS
label: gpt
start=1MiB, size=${BOOT_MB}MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=boot
size=${ROOT_MB}MiB, type=B921B045-1DF0-41C3-AF44-4C6F280D3FAE, name=rootfs
size=${DATA_MB}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=data
PARTS
dd if="$WORK/boot.img" of="$OUT" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$WORK/root.img" of="$OUT" bs=1M seek=$((1 + BOOT_MB)) conv=notrunc,sparse status=none
dd if="$WORK/data.img" of="$OUT" bs=1M seek=$((1 + BOOT_MB + ROOT_MB)) conv=notrunc,sparse status=none

if [ -n "$CSV" ]; then
  echo "== provisioning $DEVICE"
  GRIDCTL=${GRIDCTL:-$(command -v gridctl || echo "${CARGO_TARGET_DIR:-target}/release/gridctl")}
  "$GRIDCTL" provision --csv "$CSV" --target "$OUT" --device "$DEVICE" --hub-url "$HUB" \
    --admin-token-file "$TOKEN" ${HUB_CA:+--hub-ca "$HUB_CA"}
fi

echo "build-image: $OUT — $(du -h --apparent-size "$OUT" | cut -f1) ($(du -h "$OUT" | cut -f1) on disk, sparse) in $(( $(date +%s) - start )) s"
echo "write it with: dd if=$OUT of=/dev/mmcblkN bs=4M conv=fsync status=progress  (or bmaptool)"
