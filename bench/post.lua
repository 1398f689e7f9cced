-- wrk script for `npm run bench` (bench/http.ts runs it; command: npm run bench).
-- POSTs one TrentService request: the JSON body from $BENCH_BODY with the operation in
-- $BENCH_TARGET, and prints the summary as one JSON line so the bench can parse it.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = os.getenv("BENCH_TARGET")
-- moto routes a request to a service by the credential scope of a SigV4 Authorization header
-- (it does not check the signature); edge-kms and the no-op server ignore it. Every server gets
-- it so the requests are byte-for-byte the same.
wrk.headers["Authorization"] =
  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/kms/aws4_request, " ..
  "SignedHeaders=content-type;host;x-amz-target, Signature=0000"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"latency_us":{"p50":%d,"p99":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
