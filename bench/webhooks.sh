#!/usr/bin/env bash
# Webhook delivery end to end: events committed through the store while the
# server's delivery worker sends them to a local receiver. Prints events/s
# delivered (first commit to last receipt), p50/p95/p99 from each event's
# commit to its receipt, and a baseline measured in the same run: the same
# signed bodies POSTed to the same receiver by a plain reqwest loop with the
# same number of requests in flight.
#
# The measuring program is a Cargo bench target (crates/mercato/benches/
# webhooks.rs, no test harness) built with the release settings: it runs the
# server in its own process through `mercato::server::start`, so that it can
# commit events through the server's own store handle and time each one.
#
# Usage: bench/webhooks.sh [--events N] [--batch N] [--rate N]
#                          [--concurrency N] [--endpoint-concurrency N] [--profile]
#   --events N      events to deliver (default 20000)
#   --batch N       events per committed transaction (default 500)
#   --rate N        commit at most N events/s (default 0: as fast as possible)
#   --concurrency, --endpoint-concurrency
#                   the server's webhook_concurrency and
#                   webhook_endpoint_concurrency (default: the server defaults)
#   --profile       also print where a delivery's time goes, per SQL statement
#                   and HTTP send, from the server's tracing
# Set MERCATO_BENCH_DATABASE_URL=postgres://USER@HOST:PORT/postgres to run on
# PostgreSQL too (a throwaway database is created there and dropped).
# Needs: cargo. Output is also written to bench/out/webhooks.txt.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out_dir=$root/bench/out
mkdir -p "$out_dir"
cd "$root"

cargo bench --locked -p mercato --bench webhooks -- "$@" | tee "$out_dir/webhooks.txt"
