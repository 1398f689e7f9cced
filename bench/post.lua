-- wrk script for `npm run bench` (bench/http.ts runs it: wrk -t1 -c32 -d5s -s bench/post.lua URL).
-- POSTs one TrentService request over and over: the JSON body from $BENCH_BODY and the headers
-- from $BENCH_HEADERS ("name: value" lines: content-type, host, x-amz-date, x-amz-target and a
-- SigV4 authorization computed by bench/sigv4.ts), then prints the summary as one JSON line.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
for name, value in string.gmatch(os.getenv("BENCH_HEADERS"), "([^:\n]+): ([^\n]*)") do
  -- wrk adds its own "Host" unless that exact key is set: a second host header would break the
  -- signature.
  if name == "host" then name = "Host" end
  wrk.headers[name] = value
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"latency_us":{"p50":%d,"p99":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
