#!/usr/bin/env bash
# Resident memory of `mercato serve`: idle, and while a 200 MB catalog file is
# uploaded through POST /v1/files. The upload's speed is compared with a plain
# `cp` of the same file on the same disk, in the same run, as a baseline.
#
# Usage: bench/memory.sh [size_mib]   (default 199: just under the 200 MB limit)
# Needs: a release build (cargo build --release), curl, python3.
set -euo pipefail

size_mib=${1:-199}
root=$(cd "$(dirname "$0")/.." && pwd)
binary=$root/target/release/mercato
work=$(mktemp -d)
out_dir=$root/bench/out
mkdir -p "$out_dir"
server_pid=""

cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

[ -x "$binary" ] || (cd "$root" && cargo build --release --locked --bin mercato)

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
peak_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
key="sk_test_$(python3 -c 'import secrets, string; print("".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(24)))')"

echo "generating a ${size_mib} MiB catalog CSV"
python3 - "$work/catalog.csv" "$size_mib" <<'PY'
import sys
path, size_mib = sys.argv[1], int(sys.argv[2])
target = size_mib * 1024 * 1024
header = "id,title,description,link,brand,image_link,availability,price,gtin,inventory_quantity\n"
with open(path, "w") as out:
    out.write(header)
    written, row = len(header), 0
    description = "A sturdy everyday item made to last, described at realistic length. " * 6
    while True:
        line = (f"sku-{row},Product {row},{description},https://shop.example/p/{row},Acme,"
                f"https://shop.example/i/{row}.jpg,in_stock,{row % 500}.99 USD,0012345678905,{row % 90}\n")
        if written + len(line) > target:
            break
        out.write(line)
        written += len(line)
        row += 1
PY
bytes=$(stat -c %s "$work/catalog.csv")

MERCATO_BOOTSTRAP_TEST_KEY=$key MERCATO_LOG_LEVEL=warn \
  "$binary" serve --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS -u "$key:" "http://127.0.0.1:$port/v1/account" >/dev/null
sleep 2
idle=$(rss_kib "$server_pid")

start=$(date +%s.%N)
curl -fsS -u "$key:" "http://127.0.0.1:$port/v1/files" \
  -F purpose=data_management_manual_upload -F "file=@$work/catalog.csv;type=text/csv" >"$work/upload.json"
end=$(date +%s.%N)
peak=$(peak_kib "$server_pid")
after=$(rss_kib "$server_pid")

cp_start=$(date +%s.%N)
cp "$work/catalog.csv" "$work/copy.csv" && sync "$work/copy.csv"
cp_end=$(date +%s.%N)

python3 - "$idle" "$peak" "$after" "$bytes" "$start" "$end" "$cp_start" "$cp_end" "$work/upload.json" <<'PY' | tee "$out_dir/memory.txt"
import json, sys
idle, peak, after, size = (int(v) for v in sys.argv[1:5])
start, end, cp_start, cp_end = (float(v) for v in sys.argv[5:9])
upload = json.load(open(sys.argv[9]))
assert upload["size"] == size, f"stored {upload['size']} bytes of {size}"
mib = size / 1048576
print(f"file: {mib:.1f} MiB ({size} bytes), stored as {upload['id']}")
print(f"idle resident memory: {idle / 1024:.1f} MiB")
print(f"peak resident memory during the upload: {peak / 1024:.1f} MiB (after: {after / 1024:.1f} MiB)")
print(f"upload: {end - start:.2f} s, {mib / (end - start):.0f} MiB/s")
print(f"baseline cp + sync of the same file: {cp_end - cp_start:.2f} s, {mib / (cp_end - cp_start):.0f} MiB/s")
PY
