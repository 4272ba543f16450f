#!/usr/bin/env bash
# Catalog import speed: a ~200 MB product catalog feed (about 400,000 rows)
# goes through the seed's flow (upload a File, create an ImportSet, poll it)
# against `mercato serve` on a fresh SQLite data directory, and is compared
# with `sqlite3 .import` of the same file into a plain table, in the same run.
# Then a 100,000-row inventory feed naming products of that catalog is timed
# from ImportSet creation to its final status, three times: the first
# products of the catalog in its order, at once, while the server still
# copies the catalog import's WAL into the database file; the same with
# other quantities once it has settled (MERCATO_BENCH_SETTLE seconds later,
# default 8); and products drawn from the whole catalog in random order.
#
# Goals (issue 4, DESIGN.md): catalog upload to succeeded <= 10 s on 2 cores,
# peak resident memory <= 1 GiB, <= 3x the sqlite3 .import time; inventory
# feed of 100,000 rows <= 1 s.
#
# Usage: bench/import.sh [rows]   (default 400000)
# Environment: MERCATO_BENCH_KEEP=1 keeps the work directory (printed at the end).
# Needs: cargo, curl, python3, sqlite3 (installed with apt-get when missing).
# Writes: bench/out/import.txt
set -euo pipefail

rows=${1:-400000}
inventory_rows=100000
root=$(cd "$(dirname "$0")/.." && pwd)
binary=$root/target/release/mercato
work=$(mktemp -d)
out_dir=$root/bench/out
mkdir -p "$out_dir"
server_pid=""
sampler_pid=""

cleanup() {
  if [ -n "$sampler_pid" ]; then kill "$sampler_pid" 2>/dev/null || true; fi
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ "${MERCATO_BENCH_KEEP:-0}" = 1 ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

now() { date +%s.%N; }
peak_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
written_bytes() { awk '/^write_bytes/ {print $2}' "/proc/$1/io"; }
json_field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# 1. The release build (a no-op when it is up to date).
(cd "$root" && CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1} cargo build --release --locked --bin mercato) \
  || { [ -x "$binary" ] && echo "warning: build failed, using the existing $binary" >&2; } \
  || exit 1

# 2. The catalog feed: gen-catalog when the binary has it, else a generator of valid rows.
catalog=$work/catalog.csv
if "$binary" gen-catalog --help >/dev/null 2>&1; then
  generator="mercato gen-catalog --rows $rows --seed 7 --error-rate 0.01"
  "$binary" gen-catalog --rows "$rows" --seed 7 --error-rate 0.01 --output "$catalog"
else
  generator="python generator in bench/import.sh (valid rows, seed 7)"
  python3 - "$catalog" "$rows" <<'PY'
import csv, random, sys

path, rows = sys.argv[1], int(sys.argv[2])
random.seed(7)
words = ("oak linen steel wool cotton walnut copper ceramic bamboo canvas leather glass "
         "sturdy light compact quiet warm soft classic modern rustic handmade durable "
         "kitchen garden travel office outdoor studio everyday weekend family").split()
brands = ["Acme", "Northwind", "Fjord & Co", "Hearth", "Lumen", "Kestrel", "Tallow", "Brindle"]
categories = ["Home & Garden > Kitchen & Dining", "Apparel & Accessories > Clothing",
              "Sporting Goods > Outdoor Recreation", "Furniture > Chairs",
              "Electronics > Audio > Headphones", "Toys & Games > Puzzles"]
colors = ["red", "blue", "green", "black", "white", "oat", "slate"]
sizes = ["XS", "S", "M", "L", "XL", "one size"]
currencies = ["USD", "EUR", "GBP", "JPY"]

def gtin13(n):
    body = f"{n:012d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)

def sentence(length):
    out = []
    while sum(len(w) + 1 for w in out) < length:
        out.append(random.choice(words))
    text = " ".join(out)
    return text[0].upper() + text[1:] + "."

with open(path, "w", newline="") as handle:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(["id", "title", "description", "link", "brand", "image_link", "availability",
                     "price", "gtin", "google_product_category", "inventory_quantity",
                     "item_group_id", "color", "size"])
    for row in range(rows):
        group = row // 4
        currency = currencies[row % len(currencies)]
        amount = random.randint(100, 99999)
        price = f"{amount} JPY" if currency == "JPY" else f"{amount // 100}.{amount % 100:02d} {currency}"
        description = " ".join(sentence(random.randint(40, 80)) for _ in range(5))[:250]
        writer.writerow([
            f"sku-{row:07d}", sentence(random.randint(20, 50))[:150], description,
            f"https://shop.example.com/products/{group}?variant={row}", random.choice(brands),
            f"https://cdn.shop.example.com/images/{group}/{row % 4}.jpg",
            random.choice(["in_stock", "in_stock", "in_stock", "out_of_stock", "backorder"]),
            price, gtin13(400000000000 + row), random.choice(categories), random.randint(0, 500),
            f"group-{group:06d}", random.choice(colors), random.choice(sizes),
        ])
PY
fi
bytes=$(stat -c %s "$catalog")
catalog_rows=$(($(python3 -c 'import csv, sys; print(sum(1 for _ in csv.reader(open(sys.argv[1], newline=""))))' "$catalog") - 1))

# 3. The baseline: sqlite3 .import of the same file into a plain table.
command -v sqlite3 >/dev/null || apt-get install -y sqlite3 >/dev/null
sync "$catalog"
sqlite_start=$(now)
sqlite3 "$work/baseline.db" ".mode csv" ".import $catalog products"
sqlite_end=$(now)
sqlite_rows=$(sqlite3 "$work/baseline.db" "select count(*) from products")
rm -f "$work/baseline.db"

# 4. The server on a fresh data directory, and the catalog import.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
key="sk_test_$(python3 -c 'import secrets, string; print("".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(24)))')"
api=http://127.0.0.1:$port
version="Stripe-Version: 2025-09-30.clover;udap_beta=v1"

MERCATO_BOOTSTRAP_TEST_KEY=$key MERCATO_LOG_LEVEL=warn \
  "$binary" serve --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "$api/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS -u "$key:" "$api/v1/accounts" -d type=custom >"$work/account.json"
account=$(json_field "$work/account.json" id)

# Per-thread CPU of the server (time, tid, name, utime + stime in clock ticks, state), sampled
# once a second into bench/out/import-threads.log, to see which thread is busy.
(while kill -0 "$server_pid" 2>/dev/null; do
  for task in /proc/"$server_pid"/task/*; do
    read -r comm <"$task/comm" 2>/dev/null || continue
    awk -v t="$(now)" -v c="$comm" -v id="${task##*/}" '{print t, id, c, $14 + $15, $3}' "$task/stat" 2>/dev/null || true
  done
  sleep 1
done) >"$work/threads.log" 2>/dev/null &
sampler_pid=$!

# Uploads FILE, creates an ImportSet of FORMAT and polls it until it ends.
# Leaves upload.json, import_set.json, final.json and the times in $work/NAME.*.
run_import() {
  local name=$1 file=$2 format=$3
  local upload_start created_at finished_at id status
  upload_start=$(now)
  curl -fsS -u "$key:" -H "Stripe-Account: $account" -H "$version" "$api/v1/files" \
    -F purpose=data_management_manual_upload -F "file=@$file;type=text/csv" >"$work/$name.upload.json"
  created_at=$(now)
  curl -fsS -u "$key:" -H "Stripe-Account: $account" -H "$version" \
    "$api/v1/data_management/import_sets" \
    -d "file=$(json_field "$work/$name.upload.json" id)" \
    --data-urlencode "standard_data_format=$format" >"$work/$name.import_set.json"
  id=$(json_field "$work/$name.import_set.json" id)
  finished_at=$(poll_until_final "$id" "$work/$name.final.json")
  echo "$upload_start $created_at $finished_at" >"$work/$name.times"
}

# GETs ImportSet ID every 20 ms from one process (so that starting curl and
# python each time does not blur the figure) until its status is final; writes
# the last response to FILE and prints the time it arrived.
poll_until_final() {
  python3 - "$api/v1/data_management/import_sets/$1" "$2" "$key" "$account" <<'PY'
import base64, json, sys, time, urllib.request

url, output, key, account = sys.argv[1:5]
request = urllib.request.Request(url, headers={
    "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
    "Stripe-Account": account,
    "Stripe-Version": "2025-09-30.clover;udap_beta=v1",
})
while True:
    with urllib.request.urlopen(request) as response:
        body = response.read()
    if json.loads(body)["status"] in ("succeeded", "succeeded_with_errors", "failed"):
        break
    time.sleep(0.02)
arrived = time.time()
open(output, "wb").write(body)
print(f"{arrived:.6f}")
PY
}

written_before=$(written_bytes "$server_pid")
run_import catalog "$catalog" product_catalog_feed
catalog_peak=$(peak_kib "$server_pid")
catalog_written=$(($(written_bytes "$server_pid") - written_before))
database_bytes=$(du -cb "$work/data"/*.db* | tail -1 | cut -f1)

# 5. An inventory feed: ids of products that the catalog import kept, new quantities.
errors_file=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["result"]; print((r.get("errors") or {}).get("file") or "")' "$work/catalog.final.json")
: >"$work/errors.csv"
if [ -n "$errors_file" ]; then
  curl -fsS -u "$key:" -H "Stripe-Account: $account" "$api/v1/files/$errors_file/contents" >"$work/errors.csv"
fi
python3 - "$catalog" "$work/errors.csv" "$work/inventory.csv" "$work/inventory-settled.csv" \
  "$work/inventory-shuffled.csv" "$inventory_rows" <<'PY'
import csv, random, sys

catalog, errors, output, settled, shuffled, wanted = sys.argv[1:6] + [int(sys.argv[6])]
failed = set()
with open(errors, newline="") as handle:
    for row in csv.DictReader(handle):
        failed.add(row.get("id"))
random.seed(11)
seen = set()
with open(catalog, newline="") as source, open(output, "w", newline="") as target:
    writer = csv.writer(target, lineterminator="\n")
    writer.writerow(["id", "inventory_quantity"])
    for row in csv.DictReader(source):
        product = (row.get("id") or "").strip()
        if not product or product in failed or product in seen:
            continue
        seen.add(product)
        writer.writerow([product, random.randint(0, 1000)])
        if len(seen) == wanted:
            break
with open(output, newline="") as source, open(settled, "w", newline="") as target:
    writer = csv.writer(target, lineterminator="\n")
    for line, row in enumerate(csv.reader(source)):
        writer.writerow(row if line == 0 else [row[0], random.randint(0, 1000)])
# The same number of products drawn from the whole catalog, in no order.
kept = []
with open(catalog, newline="") as source:
    for row in csv.DictReader(source):
        product = (row.get("id") or "").strip()
        if product and product not in failed:
            kept.append(product)
chosen = random.sample(sorted(set(kept)), wanted)
with open(shuffled, "w", newline="") as target:
    writer = csv.writer(target, lineterminator="\n")
    writer.writerow(["id", "inventory_quantity"])
    for product in chosen:
        writer.writerow([product, random.randint(0, 1000)])
PY
run_import inventory "$work/inventory.csv" inventory_feed
sleep "${MERCATO_BENCH_SETTLE:-8}"
run_import inventory-settled "$work/inventory-settled.csv" inventory_feed
run_import inventory-shuffled "$work/inventory-shuffled.csv" inventory_feed
inventory_peak=$(peak_kib "$server_pid")
kill "$sampler_pid" 2>/dev/null || true
sampler_pid=""
cp "$work/threads.log" "$out_dir/import-threads.log"

# 6. The figures.
python3 - "$work" "$bytes" "$catalog_rows" "$generator" "$sqlite_start" "$sqlite_end" "$sqlite_rows" \
  "$catalog_peak" "$inventory_peak" "$catalog_written" "$database_bytes" <<'PY' | tee "$out_dir/import.txt"
import json, sys

work, size, rows, generator = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sqlite_seconds = float(sys.argv[6]) - float(sys.argv[5])
sqlite_rows, catalog_peak, inventory_peak, written, database = (int(v) for v in sys.argv[7:12])
mb, mib = size / 1e6, size / 1048576

def load(name):
    upload_start, created, finished = (float(v) for v in open(f"{work}/{name}.times").read().split())
    final = json.load(open(f"{work}/{name}.final.json"))
    return upload_start, created, finished, final

def describe(final):
    result = final.get("result") or {}
    errors = (result.get("errors") or {}).get("row_count")
    line = (f"status {final['status']}, rows_processed {result.get('rows_processed')}, "
            f"successes {(result.get('successes') or {}).get('row_count')}, errors {errors}, "
            f"created {result.get('objects_created')}, updated {result.get('objects_updated')}")
    if final.get("failed_reason"):
        line += f", failed_reason: {final['failed_reason']}"
    return line, result.get("timings_ms") or {}

def verdict(ok):
    return "met" if ok else "MISSED"

start, created, finished, final = load("catalog")
total = finished - start
line, timings = describe(final)
ratio = total / sqlite_seconds
print(f"catalog feed: {rows} rows, {mb:.1f} MB ({mib:.1f} MiB), from {generator}")
print(f"baseline sqlite3 .import: {sqlite_seconds:.2f} s, {sqlite_rows} rows, "
      f"{sqlite_rows / sqlite_seconds:,.0f} rows/s, {mb / sqlite_seconds:.1f} MB/s")
print(f"catalog import: {line}")
print(f"  upload {created - start:.2f} s, ImportSet created to final status {finished - created:.2f} s")
print(f"  upload to final status: {total:.2f} s, {rows / total:,.0f} rows/s, {mb / total:.1f} MB/s"
      f"  (goal <= 10 s: {verdict(total <= 10)})")
print(f"  stages (timings_ms): parse {timings.get('parse')}, validate {timings.get('validate')}, "
      f"apply {timings.get('apply')}")
print(f"  ratio to sqlite3 .import: {ratio:.1f}x  (goal <= 3x: {verdict(ratio <= 3)})")
print(f"  server peak resident memory (VmHWM): {catalog_peak / 1024:.0f} MiB"
      f"  (goal <= 1 GiB: {verdict(catalog_peak <= 1048576)})")
print(f"  server disk writes (write_bytes in /proc/PID/io): {written / 1e6:,.0f} MB, "
      f"{written / 1e6 / total:.0f} MB/s; database files afterwards: {database / 1e6:,.0f} MB")

for name, when in (("inventory", "right after the catalog import"),
                   ("inventory-settled", "once the server has settled"),
                   ("inventory-shuffled", "products from the whole catalog in random order")):
    start, created, finished, final = load(name)
    line, timings = describe(final)
    inventory = finished - created
    print(f"inventory feed, {when}: {line}")
    print(f"  upload {created - start:.2f} s, ImportSet created to final status {inventory:.2f} s"
          f"  (goal <= 1 s: {verdict(inventory <= 1)})")
    print(f"  stages (timings_ms): parse {timings.get('parse')}, "
          f"validate {timings.get('validate')}, apply {timings.get('apply')}")
print(f"  server peak resident memory after all imports: {inventory_peak / 1024:.0f} MiB")
PY
